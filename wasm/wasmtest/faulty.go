package wasmtest

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/hex"

	"github.com/raidakx/raidakx/abi"
)

// EnvFaultyPath names an environment variable that, when set, is the
// faulty module the tests use instead of building one.
const EnvFaultyPath = "RAIDAKX_FAULTY_WASM"

// The faulty module's behaviours, chosen by the command byte (request byte
// 5) of a 32-byte request; host/engine/testdata/faulty/main.go documents
// each one.
const (
	FaultyEcho         = 0 // answers status 250 (FaultyAnswer)
	FaultyPanic        = 1 // Go panic
	FaultyTrap         = 2 // out-of-bounds load: a WebAssembly trap, no Go panic
	FaultyLoop         = 3 // logs FaultyLoopMessage, then loops forever
	FaultyOutOfMemory  = 4 // allocates until the runtime dies
	FaultyPanicLocked  = 5 // page_lock(1, 0), then Go panic
	FaultyBadPointer   = 6 // page_lock(1, 0), record_read(1, 7, 0xfffffff0)
	FaultyWriteThenDie = 7 // writes FaultyRecord as (1, 7) under the lock, unlocks, Go panic
	FaultyKeepLock     = 8 // answers holding page_lock(1, 0)
	FaultyShortAnswer  = 9 // returns a length of 5

	// Misuse of an import with den D, the big-endian int32 in body bytes
	// 0-3 (FaultyDenRequest). Each must trap; if the import returns, the
	// module answers like FaultyEcho with the import's result as
	// challenge bytes 0-3.
	FaultyUnlockDen     = 10 // page_unlock(D, 0) holding no lock
	FaultySecondLockDen = 11 // page_lock(1, 0), page_lock(D, 0)
	FaultyBadPointerDen = 12 // page_lock(1, 0), record_read(D, 7, 0xfffffff0)

	// FaultySlow is healthy but slow: it calls time_now until D
	// microseconds have passed (D as above), then answers like
	// FaultyEcho.
	FaultySlow = 13

	// FaultyAllImports is healthy and calls random, file_write of
	// Keys/faulty.txt ("faulty file"), file_read of it and log, then
	// answers like FaultyEcho.
	FaultyAllImports = 14

	FaultyLoopLocked = 15 // page_lock(1, 0), logs FaultyLoopMessage, loops forever
	FaultyLockedRead = 16 // healthy: page_lock(1, 0), record_read(1, 7), page_unlock, answers like FaultyEcho

	// Calls of the crypto imports (ABI version 2) on the inputs below:
	// the iv is FaultyCryptoIV, the buffer a 16-byte copy of
	// FaultyCryptoPlaintext. FaultyCryptoKeyLenDen and FaultyCryptoLenDen
	// take D as above and, if the import returns, answer like FaultyEcho
	// with the first 4 output bytes as challenge bytes 0-3;
	// FaultyCryptoBadPointer and FaultyHMACBadOut must trap on their
	// pointer and, if the import returns, answer like FaultyEcho.
	FaultyCryptoKeyLenDen  = 17 // aes_ctr(FaultyCryptoKey256, D, iv, buf, 16)
	FaultyCryptoBadPointer = 18 // aes_ctr(FaultyCryptoKey128, 16, iv, 0xfffffff0, 16)
	FaultyCryptoLenDen     = 19 // sha256(0, D, out): the digest of memory [0, D)
	FaultyHMACBadOut       = 20 // hmac_sha256(FaultyCryptoKey128, 16, buf, 16, 0xfffffff0)

	// FaultyCryptoHealthy is healthy: aes_ctr(FaultyCryptoKey128, 16, iv,
	// buf, 16), then it answers like FaultyEcho with the 16 ciphertext
	// bytes as the challenge (NIST SP 800-38A F.5.1's first block,
	// 874d6191b620e3261bef6864990db6ce).
	FaultyCryptoHealthy = 21
)

// The inputs of the crypto behaviours, from NIST SP 800-38A appendix F.5:
// the AES-128 key of F.5.1, the AES-256 key of F.5.5 (of which
// FaultyCryptoKeyLenDen passes D bytes, the first 16 when D is 16), the
// initial counter block and the first plaintext block of both.
var (
	FaultyCryptoKey128    = [16]byte{0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c}
	FaultyCryptoKey256    = [32]byte{0x60, 0x3d, 0xeb, 0x10, 0x15, 0xca, 0x71, 0xbe, 0x2b, 0x73, 0xae, 0xf0, 0x85, 0x7d, 0x77, 0x81, 0x1f, 0x35, 0x2c, 0x07, 0x3b, 0x61, 0x08, 0xd7, 0x2d, 0x98, 0x10, 0xa3, 0x09, 0x14, 0xdf, 0xf4}
	FaultyCryptoIV        = [16]byte{0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff}
	FaultyCryptoPlaintext = [16]byte{0x6b, 0xc1, 0xbe, 0xe2, 0x2e, 0x40, 0x9f, 0x96, 0xe9, 0x3d, 0x7e, 0x11, 0x73, 0x93, 0x17, 0x2a}
)

// FaultyLoopMessage is what FaultyLoop logs (level info) before looping.
const FaultyLoopMessage = "faulty: looping"

// The den, page and sn the faulty module locks, reads and writes.
const (
	FaultyDen  = 1
	FaultyPage = 0
	FaultySN   = 7
)

// FaultyRecord is the record behaviour FaultyWriteThenDie writes: AN
// "faulty-record-07", MFS 0x5a.
var FaultyRecord = [abi.RecordSize]byte{'f', 'a', 'u', 'l', 't', 'y', '-', 'r', 'e', 'c', 'o', 'r', 'd', '-', '0', '7', 0x5a}

// FaultyAnswer writes into dst the answer of a healthy faulty instance to
// req, a request of behaviour FaultyEcho, built the way the module builds
// it: the node's raida_id, status 250, the response group, the echo bytes,
// the first 16 body bytes as the challenge. It returns the length, 32.
func FaultyAnswer(dst, req []byte, raidaID byte) int {
	h := abi.ResponseHeader{
		RaidaID: raidaID,
		Status:  abi.StatusSuccess,
		Group:   abi.ResponseGroup(req, raidaID),
		Echo:    [2]byte{req[abi.OffEcho], req[abi.OffEcho+1]},
	}
	copy(h.Challenge[:], req[abi.HeaderSize:])
	h.Encode(dst)
	return abi.HeaderSize
}

// FaultyRequest returns a request for the faulty module: a valid header
// for node cfg (router 1, group 0) whose command byte is behaviour, echo
// bytes 30-31 echo, and a 16-byte body of 0x10, 0x11, ...
func FaultyRequest(cfg abi.Config, behaviour byte, echo uint16) []byte {
	h := abi.RequestHeader{Route: abi.Route{Router: abi.Router, RaidaID: cfg.RaidaID, Command: behaviour, CoinID: cfg.CoinID}, BodyLength: 18}
	h.Nonce[6], h.Nonce[7] = byte(echo>>8), byte(echo)
	req := make([]byte, abi.HeaderSize+18)
	h.Encode(req)
	for i := range 16 {
		req[abi.HeaderSize+i] = 0x10 + byte(i)
	}
	req[len(req)-2], req[len(req)-1] = abi.TrailerByte, abi.TrailerByte
	return req
}

// FaultyDenRequest returns FaultyRequest(cfg, behaviour, echo) with den as
// body bytes 0-3, for behaviours FaultyUnlockDen to FaultySlow,
// FaultyCryptoKeyLenDen and FaultyCryptoLenDen.
func FaultyDenRequest(cfg abi.Config, behaviour byte, echo uint16, den int32) []byte {
	req := FaultyRequest(cfg, behaviour, echo)
	b := req[abi.HeaderSize:]
	b[0], b[1], b[2], b[3] = byte(den>>24), byte(den>>16), byte(den>>8), byte(den)
	return req
}

// FaultyCryptoCase is one run of a faulty crypto behaviour, as every
// engine's TestCryptoImports checks it.
type FaultyCryptoCase struct {
	Behaviour byte
	D         int32  // body bytes 0-3 (FaultyDenRequest)
	Reason    string // in the Fault when the call must trap; "" when it must answer
	// Challenge returns the challenge bytes the answer starts with, given
	// the instance's memory after the call; nil: any bytes, only no trap.
	Challenge func(mem []byte) []byte
}

// FaultyCryptoCases returns the cases of the crypto behaviours: the
// expected outputs are NIST SP 800-38A F.5 blocks, SHA-256 of "" and of
// memory, and AES-128 computed by crypto/cipher where no standard vector
// exists.
func FaultyCryptoCases() []FaultyCryptoCase {
	// AES-128-CTR of the plaintext block under the first 16 bytes of the
	// F.5.5 key: not a NIST vector, so crypto/cipher computes it.
	block, _ := aes.NewCipher(FaultyCryptoKey256[:16])
	aes128 := make([]byte, 16)
	cipher.NewCTR(block, FaultyCryptoIV[:]).XORKeyStream(aes128, FaultyCryptoPlaintext[:])
	bytes := func(s string) func([]byte) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			panic(err)
		}
		return func([]byte) []byte { return b }
	}
	return []FaultyCryptoCase{
		{FaultyCryptoKeyLenDen, 16, "", func([]byte) []byte { return aes128[:4] }},
		{FaultyCryptoKeyLenDen, 32, "", bytes("601ec313")}, // F.5.5, block 1
		{FaultyCryptoKeyLenDen, 0, "aes_ctr with a 0-byte key, want 16 or 32", nil},
		{FaultyCryptoKeyLenDen, 15, "aes_ctr with a 15-byte key, want 16 or 32", nil},
		{FaultyCryptoKeyLenDen, 24, "aes_ctr with a 24-byte key, want 16 or 32", nil},
		{FaultyCryptoKeyLenDen, 65537, "aes_ctr with a 65537-byte key, want 16 or 32", nil},
		{FaultyCryptoKeyLenDen, -1, "length 4294967295 outside memory", nil}, // the key region is checked first
		{FaultyCryptoBadPointer, 0, "pointer 0xfffffff0 length 16 outside memory", nil},
		{FaultyCryptoLenDen, 100, "", func(mem []byte) []byte { d := sha256.Sum256(mem[:100]); return d[:4] }},
		{FaultyCryptoLenDen, 0, "", bytes("e3b0c442")}, // SHA-256 of ""
		{FaultyCryptoLenDen, abi.MaxCryptoLen, "", nil},
		{FaultyCryptoLenDen, abi.MaxCryptoLen + 1, "sha256 of 65537 bytes, more than 65536", nil},
		{FaultyCryptoLenDen, -1, "pointer 0x0 length 4294967295 outside memory", nil},
		{FaultyHMACBadOut, 0, "pointer 0xfffffff0 length 32 outside memory", nil},
		{FaultyCryptoHealthy, 0, "", bytes("874d6191b620e3261bef6864990db6ce")}, // F.5.1, block 1
	}
}
