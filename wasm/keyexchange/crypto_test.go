package keyexchange

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"math/rand/v2"
	"testing"
)

// TestXORCTRMatchesStandardLibrary checks xorCTR against crypto/cipher's
// CTR for every length up to 100 bytes, counter offsets, and counter
// blocks whose low bytes carry.
func TestXORCTRMatchesStandardLibrary(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	key := make([]byte, 16)
	for i := range key {
		key[i] = byte(rng.Uint32())
	}
	b, _ := aes.NewCipher(key)
	ivs := [][16]byte{
		{1, 2, 3, 4, 5, 6, 7, 8}, // nonce || 00*8
		{1, 2, 3, 4, 5, 6, 7, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe}, // carries into the nonce
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
	}
	for _, iv := range ivs {
		for _, offset := range []uint64{0, 1, 3, 255, 256, 1 << 40} {
			for n := range 100 {
				src := make([]byte, n)
				for i := range src {
					src[i] = byte(rng.Uint32())
				}
				got := make([]byte, n)
				var c ciphers
				c.xorCTR(b, iv, offset, got, src)

				start := iv
				addCounter(&start, offset)
				want := make([]byte, n)
				cipher.NewCTR(b, start[:]).XORKeyStream(want, src)
				// The reference for addCounter: offset whole blocks of the
				// standard CTR's keystream, discarded.
				skip := make([]byte, 16*min(offset, 4))
				if offset <= 4 {
					ref := make([]byte, len(skip)+n)
					cipher.NewCTR(b, iv[:]).XORKeyStream(ref, append(skip, src...))
					want = ref[len(skip):]
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("iv %x offset %d length %d: got %x, want %x", iv, offset, n, got, want)
				}
			}
		}
	}
}

func TestCiphersCache(t *testing.T) {
	var c ciphers
	keys := make([][16]byte, 6)
	for i := range keys {
		keys[i][0] = byte(i + 1)
	}
	first := c.get(&keys[0])
	if c.get(&keys[0]) != first {
		t.Fatal("a cached key was expanded again")
	}
	for i := range keys {
		b := c.get(&keys[i])
		want, _ := aes.NewCipher(keys[i][:])
		var got, exp [16]byte
		b.Encrypt(got[:], make([]byte, 16))
		want.Encrypt(exp[:], make([]byte, 16))
		if got != exp {
			t.Fatalf("key %d: wrong cipher", i)
		}
	}
}
