package imports

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"

	"github.com/raidakx/raidakx/abi"
)

// The crypto imports (ABI version 2) run the standard library's AES (with
// the CPU's AES instructions where it has them: constant time, unlike the
// table-driven AES a WebAssembly guest would run) and SHA-256 over guest
// memory. The module chooses every key and byte; the host keeps nothing
// after the call: the key schedule it makes is dropped on return.

// AESCTR implements aes_ctr: it XORs buf, in place, with the AES-CTR
// keystream of key (AES-128 or AES-256) whose first counter block is iv,
// the counter incremented as one 128-bit big-endian integer (NIST SP
// 800-38A, crypto/cipher's CTR). A key that is not 16 or 32 bytes, or a
// buf longer than abi.MaxCryptoLen, is a fault.
func (e *Env) AESCTR(key []byte, iv *[abi.AESBlockSize]byte, buf []byte) {
	if !abi.ValidAESKeyLen(len(key)) {
		Faultf("aes_ctr with a %d-byte key, want 16 or 32", len(key))
	}
	checkCryptoLen("aes_ctr", len(buf))
	block, _ := aes.NewCipher(key) // the length is valid
	if len(buf) > ctrStreamMin {
		cipher.NewCTR(block, iv[:]).XORKeyStream(buf, buf)
		return
	}
	// Most calls are one to three blocks: a block at a time, with the
	// Env's scratch, saves cipher.NewCTR's copy of the key schedule (an
	// allocation of 512 bytes per call).
	ctr, ks := &e.ctr, &e.ks
	*ctr = *iv
	for len(buf) > 0 {
		block.Encrypt(ks[:], ctr[:])
		n := subtle.XORBytes(buf, buf, ks[:])
		buf = buf[n:]
		incCounter(ctr)
	}
	clear(ks[:])
}

// ctrStreamMin is the length above which aes_ctr uses crypto/cipher's CTR,
// which encrypts eight blocks at once.
const ctrStreamMin = 8 * abi.AESBlockSize

// incCounter adds one to the 128-bit big-endian counter block.
func incCounter(c *[abi.AESBlockSize]byte) {
	lo := binary.BigEndian.Uint64(c[8:]) + 1
	binary.BigEndian.PutUint64(c[8:], lo)
	if lo == 0 {
		binary.BigEndian.PutUint64(c[:8], binary.BigEndian.Uint64(c[:8])+1)
	}
}

// SHA256 implements sha256: out = SHA-256(data).
func (e *Env) SHA256(data []byte, out *[abi.SHA256Size]byte) {
	checkCryptoLen("sha256", len(data))
	*out = sha256.Sum256(data)
}

// HMACSHA256 implements hmac_sha256: out = HMAC-SHA256(key, data) (RFC
// 2104). out may overlap key or data.
func (e *Env) HMACSHA256(key, data []byte, out *[abi.SHA256Size]byte) {
	checkCryptoLen("hmac_sha256", len(key))
	checkCryptoLen("hmac_sha256", len(data))
	m := hmac.New(sha256.New, key)
	m.Write(data)
	m.Sum(out[:0])
}

// checkCryptoLen faults when a crypto import is asked to process more than
// abi.MaxCryptoLen bytes: a host call cannot be interrupted, so its work
// is bounded.
func checkCryptoLen(what string, n int) {
	if n > abi.MaxCryptoLen {
		Faultf("%s of %d bytes, more than %d", what, n, abi.MaxCryptoLen)
	}
}
