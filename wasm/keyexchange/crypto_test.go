package keyexchange

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/raidakx/raidakx/abi"
)

// stdCrypto implements the crypto imports of Host with the standard
// library, as a host does; the test hosts embed it.
type stdCrypto struct{}

func (stdCrypto) AESCTR(key []byte, iv *[abi.AESBlockSize]byte, buf []byte) {
	b, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	cipher.NewCTR(b, iv[:]).XORKeyStream(buf, buf)
}

func (stdCrypto) SHA256(data []byte, out *[abi.SHA256Size]byte) { *out = sha256.Sum256(data) }

func (stdCrypto) HMACSHA256(key, data []byte, out *[abi.SHA256Size]byte) {
	m := hmac.New(sha256.New, key)
	m.Write(data)
	m.Sum(out[:0])
}

// TestXORCTRSkipsWholeBlocks checks that xorCTR with a counter offset of n
// blocks gives the standard CTR keystream after n discarded blocks, for
// counter blocks whose low half carries into the nonce.
func TestXORCTRSkipsWholeBlocks(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var key [16]byte
	for i := range key {
		key[i] = byte(rng.Uint32())
	}
	ivs := [][16]byte{
		{1, 2, 3, 4, 5, 6, 7, 8}, // nonce || 00*8
		{1, 2, 3, 4, 5, 6, 7, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe}, // carries into the nonce
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
	}
	h := NewHandler(newFakeHost(t), abi.Config{})
	for _, iv := range ivs {
		for _, offset := range []int{0, 1, 3, 4} {
			for n := range 50 {
				src := make([]byte, n)
				for i := range src {
					src[i] = byte(rng.Uint32())
				}
				got := bytes.Clone(src)
				h.xorCTR(&key, &iv, uint64(offset), got)
				if want := fuzzCTR(key[:], iv, offset, src); !bytes.Equal(got, want) {
					t.Fatalf("iv %x offset %d length %d: got %x, want %x", iv, offset, n, got, want)
				}
			}
		}
	}
}

// TestAddCounter compares addCounter with 128-bit arithmetic in math/big.
func TestAddCounter(t *testing.T) {
	mod := new(big.Int).Lsh(big.NewInt(1), 128)
	rng := rand.New(rand.NewPCG(3, 4))
	ivs := [][16]byte{{}, {15: 0xff}, {0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, {0: 0xff, 1: 0xff, 2: 0xff, 3: 0xff, 4: 0xff, 5: 0xff, 6: 0xff, 7: 0xff, 8: 0xff, 9: 0xff, 10: 0xff, 11: 0xff, 12: 0xff, 13: 0xff, 14: 0xff, 15: 0xff}}
	for range 100 {
		var iv [16]byte
		binary.BigEndian.PutUint64(iv[:8], rng.Uint64())
		binary.BigEndian.PutUint64(iv[8:], rng.Uint64())
		ivs = append(ivs, iv)
	}
	for _, iv := range ivs {
		for _, n := range []uint64{0, 1, 2, 255, 1 << 32, 1<<64 - 1, rng.Uint64()} {
			got := iv
			addCounter(&got, n)
			sum := new(big.Int).SetBytes(iv[:])
			sum.Add(sum, new(big.Int).SetUint64(n)).Mod(sum, mod)
			var want [16]byte
			sum.FillBytes(want[:])
			if got != want {
				t.Fatalf("%x + %d = %x, want %x", iv, n, got, want)
			}
		}
	}
}

// TestCRC12 compares the unrolled CRC with hash/crc32.
func TestCRC12(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 1000 {
		var b [12]byte
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		if i == 0 {
			b = [12]byte{}
		}
		if got, want := crc12(&b), crc32.ChecksumIEEE(b[:]); got != want {
			t.Fatalf("crc12(%x) = %08x, want %08x", b, got, want)
		}
	}
}

func TestXOR16(t *testing.T) {
	a := [16]byte{0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f}
	b := [16]byte{0xff, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xa0, 0xb0, 0xc0, 0xd0, 0xe0, 0xf0}
	want := [16]byte{0xff, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}
	if xor16(&a, &b); a != want {
		t.Fatalf("got %x, want %x", a, want)
	}
}

// TestMFSAt compares mfsAt with the time package at month boundaries and
// at random times over the whole int64 range.
func TestMFSAt(t *testing.T) {
	ref := func(ns int64) byte {
		u := time.Unix(0, ns).UTC()
		return abi.MFS(u.Year(), int(u.Month()))
	}
	times := []int64{0, -1, 1, math.MinInt64, math.MaxInt64, 1795000000e9}
	for y := 1680; y <= 2260; y++ {
		for m := time.January; m <= time.December; m++ {
			b := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC).UnixNano()
			times = append(times, b-1, b, b+1)
		}
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for range 100000 {
		times = append(times, int64(rng.Uint64()))
	}
	for _, ns := range times {
		if got, want := mfsAt(ns), ref(ns); got != want {
			t.Fatalf("mfsAt(%d) (%v) = %d, want %d", ns, time.Unix(0, ns).UTC(), got, want)
		}
	}
}

// TestHex16 compares hex16 with encoding/hex.
func TestHex16(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for range 1000 {
		src := make([]byte, 16)
		for i := range src {
			src[i] = byte(rng.Uint32())
		}
		var got [32]byte
		hex16(&got, src)
		if want := hex.EncodeToString(src); string(got[:]) != want {
			t.Fatalf("hex16(%x) = %s", src, got)
		}
	}
}
