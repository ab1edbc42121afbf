package keyexchange

import (
	"encoding/binary"
	"hash/crc32"
	"math/bits"

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

// addCounter adds n to the 128-bit big-endian counter block, without a
// branch.
func addCounter(iv *[abi.AESBlockSize]byte, n uint64) {
	lo, carry := bits.Add64(binary.BigEndian.Uint64(iv[8:]), n, 0)
	binary.BigEndian.PutUint64(iv[8:], lo)
	binary.BigEndian.PutUint64(iv[:8], binary.BigEndian.Uint64(iv[:8])+carry)
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

// hex16 writes the 32 lowercase hex digits of a 16-byte key id, unrolled
// (hex.Encode loops once per byte).
func hex16(dst *[32]byte, src []byte) {
	const digits = "0123456789abcdef"
	s := (*[16]byte)(src)
	dst[0], dst[1] = digits[s[0]>>4], digits[s[0]&15]
	dst[2], dst[3] = digits[s[1]>>4], digits[s[1]&15]
	dst[4], dst[5] = digits[s[2]>>4], digits[s[2]&15]
	dst[6], dst[7] = digits[s[3]>>4], digits[s[3]&15]
	dst[8], dst[9] = digits[s[4]>>4], digits[s[4]&15]
	dst[10], dst[11] = digits[s[5]>>4], digits[s[5]&15]
	dst[12], dst[13] = digits[s[6]>>4], digits[s[6]&15]
	dst[14], dst[15] = digits[s[7]>>4], digits[s[7]&15]
	dst[16], dst[17] = digits[s[8]>>4], digits[s[8]&15]
	dst[18], dst[19] = digits[s[9]>>4], digits[s[9]&15]
	dst[20], dst[21] = digits[s[10]>>4], digits[s[10]&15]
	dst[22], dst[23] = digits[s[11]>>4], digits[s[11]&15]
	dst[24], dst[25] = digits[s[12]>>4], digits[s[12]&15]
	dst[26], dst[27] = digits[s[13]>>4], digits[s[13]&15]
	dst[28], dst[29] = digits[s[14]>>4], digits[s[14]&15]
	dst[30], dst[31] = digits[s[15]>>4], digits[s[15]&15]
}
