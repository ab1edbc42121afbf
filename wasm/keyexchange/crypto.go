package keyexchange

import (
	"crypto/aes"
	"crypto/cipher"
)

// xorCTR XORs src into dst with the AES-128-CTR keystream of key, starting
// blocks counter blocks after iv.
func xorCTR(key *[16]byte, iv [16]byte, blocks uint64, dst, src []byte) {
	b, _ := aes.NewCipher(key[:]) // a 16-byte key never fails
	xorCTRBlock(b, iv, blocks, dst, src)
}

func xorCTRBlock(b cipher.Block, iv [16]byte, blocks uint64, dst, src []byte) {
	addCounter(&iv, blocks)
	cipher.NewCTR(b, iv[:]).XORKeyStream(dst, src)
}

// addCounter adds n to the 128-bit big-endian counter block, as the CTR
// mode's increment does.
func addCounter(iv *[16]byte, n uint64) {
	for i := 15; i >= 0 && n != 0; i-- {
		s := uint64(iv[i]) + n&0xff
		iv[i] = byte(s)
		n = n>>8 + s>>8
	}
}
