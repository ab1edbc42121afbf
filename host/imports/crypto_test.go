package imports

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/raidakx/raidakx/abi"
)

func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func newCryptoEnv() *Env { return NewEnv(&Backend{}) }

// The CTR known answers of NIST SP 800-38A, appendix F.5: the initial
// counter block and plaintext are common to F.5.1 (CTR-AES128.Encrypt)
// and F.5.5 (CTR-AES256.Encrypt), four blocks each.
const (
	nistCounter   = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"
	nistPlaintext = "6bc1bee22e409f96e93d7e117393172a" +
		"ae2d8a571e03ac9c9eb76fac45af8e51" +
		"30c81c46a35ce411e5fbc1191a0a52ef" +
		"f69f2445df4f9b17ad2b417be66c3710"
)

var nistCTR = []struct {
	name, key, ciphertext string
}{{
	name: "F.5.1 CTR-AES128",
	key:  "2b7e151628aed2a6abf7158809cf4f3c",
	ciphertext: "874d6191b620e3261bef6864990db6ce" +
		"9806f66b7970fdff8617187bb9fffdff" +
		"5ae4df3edbd5d35e5b4f09020db03eab" +
		"1e031dda2fbe03d1792170a0f3009cee",
}, {
	name: "F.5.5 CTR-AES256",
	key:  "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
	ciphertext: "601ec313775789a5b7a7f504bbf3d228" +
		"f443e3ca4d62b59aca84e990cacaf5c5" +
		"2b0930daa23de94ce87017ba2d84988d" +
		"dfc9c58db67aada613c2dd08457941a6",
}}

func iv16(tb testing.TB, s string) *[abi.AESBlockSize]byte {
	tb.Helper()
	return (*[abi.AESBlockSize]byte)(unhex(tb, s))
}

// referenceCTR is crypto/cipher's CTR, the independent reference for the
// inputs the NIST vectors do not cover.
func referenceCTR(tb testing.TB, key []byte, iv *[abi.AESBlockSize]byte, in []byte) []byte {
	tb.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		tb.Fatal(err)
	}
	out := make([]byte, len(in))
	cipher.NewCTR(block, iv[:]).XORKeyStream(out, in)
	return out
}

// TestAESCTRKnownAnswers runs the NIST vectors whole, in prefixes that
// are not a multiple of the block size, and encrypt-then-decrypt.
func TestAESCTRKnownAnswers(t *testing.T) {
	e := newCryptoEnv()
	for _, v := range nistCTR {
		key, want := unhex(t, v.key), unhex(t, v.ciphertext)
		for _, n := range []int{64, 0, 1, 5, 15, 16, 17, 31, 33, 48, 63} {
			t.Run(fmt.Sprintf("%s/%d", v.name, n), func(t *testing.T) {
				buf := unhex(t, nistPlaintext)[:n]
				e.AESCTR(key, iv16(t, nistCounter), buf)
				if !bytes.Equal(buf, want[:n]) {
					t.Fatalf("ciphertext\n %x\nwant\n %x", buf, want[:n])
				}
				e.AESCTR(key, iv16(t, nistCounter), buf) // CTR is its own inverse
				if p := unhex(t, nistPlaintext)[:n]; !bytes.Equal(buf, p) {
					t.Fatalf("decrypted\n %x\nwant\n %x", buf, p)
				}
			})
		}
	}
}

// TestAESCTRLong covers buffers longer than ctrStreamMin (128 bytes),
// which go through crypto/cipher's CTR instead of the block loop: the
// first four blocks are still NIST's, and every length up to 300 bytes
// matches crypto/cipher, so both sides of the switch agree.
func TestAESCTRLong(t *testing.T) {
	e := newCryptoEnv()
	for _, v := range nistCTR {
		key, want := unhex(t, v.key), unhex(t, v.ciphertext)
		for _, extra := range []int{65, 100, 1000} { // 64 + extra > 128
			buf := append(unhex(t, nistPlaintext), make([]byte, extra)...)
			e.AESCTR(key, iv16(t, nistCounter), buf)
			if !bytes.Equal(buf[:64], want) {
				t.Errorf("%s, %d bytes: first 4 blocks\n %x\nwant\n %x", v.name, len(buf), buf[:64], want)
			}
			if ref := referenceCTR(t, key, iv16(t, nistCounter), append(unhex(t, nistPlaintext), make([]byte, extra)...)); !bytes.Equal(buf, ref) {
				t.Errorf("%s, %d bytes: differs from crypto/cipher", v.name, len(buf))
			}
		}
		in := make([]byte, 300)
		for i := range in {
			in[i] = byte(i * 7)
		}
		for n := range len(in) + 1 {
			buf := bytes.Clone(in[:n])
			e.AESCTR(key, iv16(t, nistCounter), buf)
			if ref := referenceCTR(t, key, iv16(t, nistCounter), in[:n]); !bytes.Equal(buf, ref) {
				t.Fatalf("%s, %d bytes: %x\nwant (crypto/cipher) %x", v.name, n, buf, ref)
			}
		}
	}
}

// TestAESCTRCarry starts from counters whose low 64 bits are about to
// wrap: the carry goes into the high half (the whole block is one 128-bit
// big-endian integer, ABI.md section 4), like crypto/cipher's CTR; an
// all-ones counter wraps to zero.
func TestAESCTRCarry(t *testing.T) {
	e := newCryptoEnv()
	for _, v := range nistCTR {
		key := unhex(t, v.key)
		for _, iv := range []string{
			"0001020304050607ffffffffffffffff",
			"0001020304050607fffffffffffffffe",
			"00010203040506ffffffffffffffffff", // the carry ripples on into the high half
			"ffffffffffffffffffffffffffffffff",
			"f0f1f2f3f4f5f6f7fffffffffffffff9", // wraps inside a long buffer
		} {
			for _, n := range []int{16, 48, 100, 128, 129, 300} { // both sides of ctrStreamMin
				in := make([]byte, n)
				for i := range in {
					in[i] = byte(i)
				}
				buf := bytes.Clone(in)
				e.AESCTR(key, iv16(t, iv), buf)
				if ref := referenceCTR(t, key, iv16(t, iv), in); !bytes.Equal(buf, ref) {
					t.Errorf("%s, iv %s, %d bytes:\n %x\nwant (crypto/cipher)\n %x", v.name, iv, n, buf, ref)
				}
			}
		}
	}
	// The counter after ...ffff is the high half plus one, low half zero:
	// the second block's keystream is the encryption of that block.
	key := unhex(t, nistCTR[0].key)
	block, _ := aes.NewCipher(key)
	next := unhex(t, "00010203040506080000000000000000")
	var ks [16]byte
	block.Encrypt(ks[:], next)
	buf := make([]byte, 32)
	e.AESCTR(key, iv16(t, "0001020304050607ffffffffffffffff"), buf)
	if !bytes.Equal(buf[16:], ks[:]) {
		t.Errorf("second keystream block %x, want E(K, %x) = %x", buf[16:], next, ks)
	}
}

// TestAESCTRAlias checks that the iv and key may lie inside the buffer
// (ABI.md: the regions may overlap): the host reads them before it writes.
func TestAESCTRAlias(t *testing.T) {
	e := newCryptoEnv()
	v := nistCTR[0]
	// iv = the buffer's first block: the first ciphertext block is NIST's
	// first keystream block XOR the counter itself.
	buf := unhex(t, nistCounter)
	e.AESCTR(unhex(t, v.key), (*[16]byte)(buf), buf)
	ks := make([]byte, 16)
	for i := range ks {
		ks[i] = unhex(t, v.ciphertext)[i] ^ unhex(t, nistPlaintext)[i]
	}
	for i := range ks {
		ks[i] ^= unhex(t, nistCounter)[i]
	}
	if !bytes.Equal(buf, ks) {
		t.Errorf("iv aliasing buf: %x, want %x", buf, ks)
	}
	// key = the buffer's first 16 bytes.
	buf = append(unhex(t, v.key), unhex(t, nistPlaintext)...)
	e.AESCTR(buf[:16], iv16(t, nistCounter), buf)
	want := referenceCTR(t, unhex(t, v.key), iv16(t, nistCounter), append(unhex(t, v.key), unhex(t, nistPlaintext)...))
	if !bytes.Equal(buf, want) {
		t.Errorf("key aliasing buf: %x, want %x", buf, want)
	}
}

// FIPS 180-2, appendix B.1, and the digest of the empty message.
var sha256Vectors = []struct{ in, digest string }{
	{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	{"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", // B.2, two blocks
		"248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
}

func TestSHA256(t *testing.T) {
	e := newCryptoEnv()
	for _, v := range sha256Vectors {
		var out [abi.SHA256Size]byte
		e.SHA256([]byte(v.in), &out)
		if want := unhex(t, v.digest); !bytes.Equal(out[:], want) {
			t.Errorf("SHA-256(%q) = %x, want %x", v.in, out, want)
		}
	}
}

// TestSHA256Alias writes the digest over its input (ABI.md: out may
// overlap data).
func TestSHA256Alias(t *testing.T) {
	e := newCryptoEnv()
	// "abc" at the start of out.
	buf := make([]byte, abi.SHA256Size)
	copy(buf, "abc")
	e.SHA256(buf[:3], (*[abi.SHA256Size]byte)(buf))
	if want := unhex(t, sha256Vectors[0].digest); !bytes.Equal(buf, want) {
		t.Errorf("SHA-256(abc) over its input = %x, want %x", buf, want)
	}
	// data and out the same slice.
	for i := range buf {
		buf[i] = byte(i)
	}
	want := sha256.Sum256(bytes.Clone(buf))
	e.SHA256(buf, (*[abi.SHA256Size]byte)(buf))
	if !bytes.Equal(buf, want[:]) {
		t.Errorf("data == out: %x, want %x", buf, want)
	}
}

// RFC 4231 section 4, test cases 1, 2 and 6 (6: a key longer than the
// 64-byte block, hashed first).
var hmacVectors = []struct {
	name      string
	key, data []byte
	mac       string
}{
	{"RFC 4231 case 1", bytes.Repeat([]byte{0x0b}, 20), []byte("Hi There"),
		"b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
	{"RFC 4231 case 2", []byte("Jefe"), []byte("what do ya want for nothing?"),
		"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
	{"RFC 4231 case 6", bytes.Repeat([]byte{0xaa}, 131), []byte("Test Using Larger Than Block-Size Key - Hash Key First"),
		"60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
}

func TestHMACSHA256(t *testing.T) {
	e := newCryptoEnv()
	for _, v := range hmacVectors {
		var out [abi.SHA256Size]byte
		e.HMACSHA256(v.key, v.data, &out)
		if want := unhex(t, v.mac); !bytes.Equal(out[:], want) {
			t.Errorf("%s: %x, want %x", v.name, out, want)
		}
	}
}

// TestHMACSHA256Alias writes the tag over the data, over the key, and over
// both at once (ABI.md: out may overlap key or data).
func TestHMACSHA256Alias(t *testing.T) {
	e := newCryptoEnv()
	v := hmacVectors[1] // data 28 bytes, key 4: both fit in out
	want := unhex(t, v.mac)

	buf := make([]byte, abi.SHA256Size)
	copy(buf, v.data)
	e.HMACSHA256(v.key, buf[:len(v.data)], (*[abi.SHA256Size]byte)(buf))
	if !bytes.Equal(buf, want) {
		t.Errorf("out over data: %x, want %x", buf, want)
	}

	buf = make([]byte, abi.SHA256Size)
	copy(buf, v.key)
	e.HMACSHA256(buf[:len(v.key)], v.data, (*[abi.SHA256Size]byte)(buf))
	if !bytes.Equal(buf, want) {
		t.Errorf("out over key: %x, want %x", buf, want)
	}

	// key, data and out the same slice.
	for i := range buf {
		buf[i] = byte(0x40 + i)
	}
	m := hmac.New(sha256.New, bytes.Clone(buf))
	m.Write(bytes.Clone(buf))
	ref := m.Sum(nil)
	e.HMACSHA256(buf, buf, (*[abi.SHA256Size]byte)(buf))
	if !bytes.Equal(buf, ref) {
		t.Errorf("key == data == out: %x, want %x", buf, ref)
	}
}

// TestCryptoMaxLen: exactly abi.MaxCryptoLen bytes are accepted, for every
// length a crypto import takes.
func TestCryptoMaxLen(t *testing.T) {
	e := newCryptoEnv()
	big := make([]byte, abi.MaxCryptoLen)
	for i := range big {
		big[i] = byte(i ^ i>>8)
	}
	key := unhex(t, nistCTR[1].key)

	buf := bytes.Clone(big)
	e.AESCTR(key, iv16(t, nistCounter), buf)
	if ref := referenceCTR(t, key, iv16(t, nistCounter), big); !bytes.Equal(buf, ref) {
		t.Error("aes_ctr of MaxCryptoLen bytes differs from crypto/cipher")
	}

	var out [abi.SHA256Size]byte
	e.SHA256(big, &out)
	if want := sha256.Sum256(big); out != want {
		t.Errorf("sha256 of MaxCryptoLen bytes: %x, want %x", out, want)
	}

	e.HMACSHA256(big, big, &out)
	m := hmac.New(sha256.New, big)
	m.Write(big)
	if want := m.Sum(nil); !bytes.Equal(out[:], want) {
		t.Errorf("hmac_sha256 with a MaxCryptoLen key and data: %x, want %x", out, want)
	}
}

// wantFault runs f and fails unless it panics with an *Fault whose Reason
// contains reason.
func wantFault(t *testing.T, reason string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		switch p := recover().(type) {
		case nil:
			t.Errorf("no fault, want one saying %q", reason)
		case *Fault:
			if !strings.Contains(p.Reason, reason) {
				t.Errorf("fault %q, want one saying %q", p.Reason, reason)
			}
		default:
			t.Errorf("panic %T %v, want a *Fault saying %q", p, p, reason)
		}
	}()
	f()
}

func TestCryptoFaults(t *testing.T) {
	e := newCryptoEnv()
	iv := iv16(t, nistCounter)
	var out [abi.SHA256Size]byte
	tooLong := make([]byte, abi.MaxCryptoLen+1)
	for _, tc := range []struct {
		name, reason string
		call         func()
	}{
		{"aes_ctr key 0", "aes_ctr with a 0-byte key, want 16 or 32", func() { e.AESCTR(nil, iv, make([]byte, 16)) }},
		{"aes_ctr key 15", "aes_ctr with a 15-byte key, want 16 or 32", func() { e.AESCTR(make([]byte, 15), iv, make([]byte, 16)) }},
		{"aes_ctr key 24", "aes_ctr with a 24-byte key, want 16 or 32", func() { e.AESCTR(make([]byte, 24), iv, make([]byte, 16)) }},
		{"aes_ctr key 33", "aes_ctr with a 33-byte key, want 16 or 32", func() { e.AESCTR(make([]byte, 33), iv, make([]byte, 16)) }},
		{"aes_ctr key MaxCryptoLen+1", "aes_ctr with a 65537-byte key, want 16 or 32", func() { e.AESCTR(tooLong, iv, make([]byte, 16)) }},
		{"aes_ctr buf MaxCryptoLen+1", "aes_ctr of 65537 bytes, more than 65536", func() { e.AESCTR(make([]byte, 16), iv, tooLong) }},
		{"sha256 data MaxCryptoLen+1", "sha256 of 65537 bytes, more than 65536", func() { e.SHA256(tooLong, &out) }},
		{"hmac_sha256 key MaxCryptoLen+1", "hmac_sha256 of 65537 bytes, more than 65536", func() { e.HMACSHA256(tooLong, []byte("x"), &out) }},
		{"hmac_sha256 data MaxCryptoLen+1", "hmac_sha256 of 65537 bytes, more than 65536", func() { e.HMACSHA256([]byte("k"), tooLong, &out) }},
	} {
		t.Run(tc.name, func(t *testing.T) { wantFault(t, tc.reason, tc.call) })
	}
	// The Env is stateless across calls: after the faults it still
	// computes NIST's answer.
	buf := unhex(t, nistPlaintext)
	e.AESCTR(unhex(t, nistCTR[0].key), iv, buf)
	if want := unhex(t, nistCTR[0].ciphertext); !bytes.Equal(buf, want) {
		t.Errorf("after the faults: %x, want %x", buf, want)
	}
}
