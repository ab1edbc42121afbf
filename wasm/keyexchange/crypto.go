package keyexchange

import (
	"encoding/binary"
	"hash/crc32"

	"github.com/raidakx/raidakx/abi"
)

// The module does no cryptography of its own: AES runs in the host
// (aes_ctr, ABI version 2), which has the CPU's constant-time AES
// instructions; WebAssembly has none, and a table-driven AES in the guest
// was both the slowest part of a request and open to cache-timing
// attacks. What stays here is arithmetic on counters and checksums, kept
// free of loops and calls: wazero checks for interruption at every
// function entry and loop iteration, and each check leaves the compiled
// code (docs/RATIONALE.md, "The sandbox's price").

// xorCTR XORs buf, in place, with the AES-128-CTR keystream of key
// starting blocks counter blocks after iv; the counter block is
// incremented as one big-endian 128-bit integer, as crypto/cipher's CTR
// does.
func (h *Handler) xorCTR(key *[16]byte, iv *[abi.AESBlockSize]byte, blocks uint64, buf []byte) {
	c := &h.scratch.ctr
	*c = *iv
	addCounter(c, blocks)
	h.host.AESCTR(key[:], c, buf)
}

// addCounter adds n to the 128-bit big-endian counter block.
func addCounter(iv *[abi.AESBlockSize]byte, n uint64) {
	lo := binary.BigEndian.Uint64(iv[8:])
	sum := lo + n
	binary.BigEndian.PutUint64(iv[8:], sum)
	if sum < lo {
		binary.BigEndian.PutUint64(iv[:8], binary.BigEndian.Uint64(iv[:8])+1)
	}
}

// xor16 sets dst to dst XOR src, 16 bytes.
func xor16(dst, src *[16]byte) {
	binary.LittleEndian.PutUint64(dst[:8], binary.LittleEndian.Uint64(dst[:8])^binary.LittleEndian.Uint64(src[:8]))
	binary.LittleEndian.PutUint64(dst[8:], binary.LittleEndian.Uint64(dst[8:])^binary.LittleEndian.Uint64(src[8:]))
}

// crc12 is the CRC-32 (IEEE) of the challenge's first 12 bytes: the same
// value as crc32.ChecksumIEEE(b[:12]), unrolled.
func crc12(b *[12]byte) uint32 {
	t := crc32.IEEETable
	c := ^uint32(0)
	c = t[byte(c)^b[0]] ^ c>>8
	c = t[byte(c)^b[1]] ^ c>>8
	c = t[byte(c)^b[2]] ^ c>>8
	c = t[byte(c)^b[3]] ^ c>>8
	c = t[byte(c)^b[4]] ^ c>>8
	c = t[byte(c)^b[5]] ^ c>>8
	c = t[byte(c)^b[6]] ^ c>>8
	c = t[byte(c)^b[7]] ^ c>>8
	c = t[byte(c)^b[8]] ^ c>>8
	c = t[byte(c)^b[9]] ^ c>>8
	c = t[byte(c)^b[10]] ^ c>>8
	c = t[byte(c)^b[11]] ^ c>>8
	return ^c
}
