package keyexchange

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
)

// ciphers keeps the expanded keys of the ANs used most recently, so that
// a type-1 request (which uses its AN twice) and repeated coins expand a
// key once. Expanding a key costs more than encrypting a whole request's
// blocks in WebAssembly. Only this instance's memory holds them.
type ciphers struct {
	keys    [4][16]byte
	blocks  [4]cipher.Block
	next    int      // the entry replaced next (round robin)
	ctr, ks [16]byte // xorCTR's counter and keystream block, kept off the heap of each call
}

// get returns the block cipher of key.
func (c *ciphers) get(key *[16]byte) cipher.Block {
	for i := range c.blocks {
		if c.blocks[i] != nil && c.keys[i] == *key {
			return c.blocks[i]
		}
	}
	b, _ := aes.NewCipher(key[:]) // a 16-byte key never fails
	i := c.next
	c.keys[i], c.blocks[i], c.next = *key, b, (i+1)%len(c.blocks)
	return b
}

// xorCTR XORs src into dst with the AES-128-CTR keystream of b, starting
// blocks counter blocks after iv; the counter block is incremented as one
// big-endian 128-bit integer, as crypto/cipher's CTR does.
//
// It makes exactly the keystream blocks it needs: crypto/cipher's CTR
// fills 512 bytes of keystream ahead (32 block encryptions), which for
// this protocol's 16- to 48-byte messages is most of a request's time in
// WebAssembly. TestXORCTRMatchesStandardLibrary compares the two.
func (c *ciphers) xorCTR(b cipher.Block, iv [16]byte, blocks uint64, dst, src []byte) {
	c.ctr = iv
	addCounter(&c.ctr, blocks)
	for len(src) > 0 {
		b.Encrypt(c.ks[:], c.ctr[:])
		n := subtle.XORBytes(dst, src, c.ks[:])
		dst, src = dst[n:], src[n:]
		addCounter(&c.ctr, 1)
	}
}

// addCounter adds n to the 128-bit big-endian counter block.
func addCounter(iv *[16]byte, n uint64) {
	for i := 15; i >= 0 && n != 0; i-- {
		s := uint64(iv[i]) + n&0xff
		iv[i] = byte(s)
		n = n>>8 + s>>8
	}
}
