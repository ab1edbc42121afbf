//go:build wasip1

// Command faulty is a deliberately broken raidakx module for tests of the
// host's fault handling (abi/ABI.md section 6). It has the exports and
// imports of the real module (wasm/), ABI version 2 (abi.Version), but
// raidakx_handle picks a behaviour from byte 5 (the command byte) of a
// 32-byte request:
//
//	0  answer like echo: status 250 STATUS_SUCCESS, see answer
//	1  Go panic (the Go runtime prints it on stderr; in a c-shared build
//	   it then aborts with the unreachable instruction, GOTRACEBACK=crash)
//	2  a WebAssembly trap that is not a Go panic: a load from address
//	   0xfffffff0, past the end of linear memory. Go's wasm port only
//	   checks pointers against nil, so the load instruction itself traps
//	   ("out of bounds memory access"): no Go code runs after it and
//	   nothing is printed, unlike 1.
//	3  log "faulty: looping" (info), so a test knows it runs, then loop
//	   forever
//	4  allocate and touch memory until the runtime dies (out of memory)
//	5  page_lock(1, 0), then Go panic: a lock held at the trap
//	6  page_lock(1, 0), then record_read(1, 7, 0xfffffff0): the host faults
//	   on the pointer (the lock is held, so the pointer is the only fault)
//	7  page_lock(1, 0), record_write(1, 7, FaultyRecord), page_unlock(1, 0),
//	   then Go panic: a completed write before the trap
//	8  page_lock(1, 0) and answer like 0 while still holding it
//	9  answer like 0 but return a length of 5
//
// Behaviours 10-12 misuse an import with a den argument D, the big-endian
// int32 in body bytes 0-3 (request bytes 32-35). ABI section 4 makes each a
// trap; if the import returns instead, the module releases any lock and
// answers like 0 with the import's result as challenge bytes 0-3:
//
//	10 page_unlock(D, 0) holding no lock
//	11 page_lock(1, 0), then page_lock(D, 0) while holding it
//	12 page_lock(1, 0), then record_read(D, 7, 0xfffffff0)
//
// Behaviour 13 is healthy but slow: it calls time_now until D microseconds
// have passed, then answers like 0.
//
// Behaviour 14 is healthy and calls the imports no other behaviour calls:
// random (16 bytes), file_write of Keys/faulty.txt ("faulty file"),
// file_read of it (which must give the same bytes) and log, then answers
// like 0.
//
// Behaviour 15 is 3 holding a lock: page_lock(1, 0), log "faulty:
// looping", loop forever. Behaviour 16 is healthy: page_lock(1, 0),
// record_read(1, 7), page_unlock(1, 0), then it answers like 0.
//
// Behaviours 17-21 call the crypto imports (ABI version 2). Their inputs
// are the NIST SP 800-38A appendix F.5 CTR vectors: the AES-256 key of
// F.5.5 (603deb10...; its first 16 bytes when a 16-byte key is asked),
// the AES-128 key of F.5.1 (2b7e1516...), the initial counter block
// f0f1...feff as the iv and the first plaintext block 6bc1bee2... The
// module copies the plaintext to a 16-byte buffer that aes_ctr encrypts in
// place. 17 and 19 take D as 10-12 do and, if the import returns, answer
// like 0 with the first 4 output bytes as challenge bytes 0-3; 18 and 20
// must trap on their pointer and, if the import returns, answer like 0:
//
//	17 aes_ctr(F.5.5 key, D, iv, buf, 16): a trap unless D is 16 or 32
//	18 aes_ctr(F.5.1 key, 16, iv, 0xfffffff0, 16)
//	19 sha256(0, D, out): the digest of memory [0, D), a trap when D is
//	   more than 65,536 (or [0, D) is not inside memory)
//	20 hmac_sha256(F.5.1 key, 16, buf, 16, 0xfffffff0)
//	21 healthy: aes_ctr(F.5.1 key, 16, iv, buf, 16), then it answers like
//	   0 with the 16 ciphertext bytes as the challenge, which are F.5.1's
//	   874d6191b620e3261bef6864990db6ce
//
// Any other command byte is answered like 0 with status 6
// INVALID_COMMAND. Behaviour 6 would, if the host did not fault it,
// release the lock and answer like 0, so a missed fault shows as a
// success.
//
// Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o faulty.wasm .
//
// (wasm/wasmtest.FaultyPath does this for tests.)
package main

import (
	"unsafe"

	"github.com/raidakx/raidakx/abi"
)

func main() {}

// The record behaviour 7 writes: den 1, sn 7, AN "faulty-record-07",
// MFS 0x5a. Tests look for exactly these 17 bytes.
var faultyRecord = [abi.RecordSize]byte{'f', 'a', 'u', 'l', 't', 'y', '-', 'r', 'e', 'c', 'o', 'r', 'd', '-', '0', '7', 0x5a}

const (
	faultyDen  = 1
	faultyPage = 0
	faultySN   = 7
	badPointer = 0xfffffff0
)

// The inputs of behaviours 17-21, from NIST SP 800-38A appendix F.5.
var (
	nistKey128  = [16]byte{0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c}
	nistKey256  = [32]byte{0x60, 0x3d, 0xeb, 0x10, 0x15, 0xca, 0x71, 0xbe, 0x2b, 0x73, 0xae, 0xf0, 0x85, 0x7d, 0x77, 0x81, 0x1f, 0x35, 0x2c, 0x07, 0x3b, 0x61, 0x08, 0xd7, 0x2d, 0x98, 0x10, 0xa3, 0x09, 0x14, 0xdf, 0xf4}
	nistCounter = [16]byte{0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff}
	nistBlock   = [16]byte{0x6b, 0xc1, 0xbe, 0xe2, 0x2e, 0x40, 0x9f, 0x96, 0xe9, 0x3d, 0x7e, 0x11, 0x73, 0x93, 0x17, 0x2a}
)

var (
	requestBuf  [abi.RequestCap]byte
	responseBuf [abi.ResponseCap]byte
	config      abi.Config
	configured  bool

	// Sinks the compiler cannot prove unused, so loops and loads stay.
	spin  uint64
	sink  uint64
	hoard [][]byte
)

//go:wasmimport raidakx random
func hostRandom(ptr unsafe.Pointer, n uint32) int32

//go:wasmimport raidakx page_lock
func hostPageLock(den int32, page uint32) int32

//go:wasmimport raidakx page_unlock
func hostPageUnlock(den int32, page uint32) int32

//go:wasmimport raidakx record_read
func hostRecordRead(den int32, sn uint32, ptr unsafe.Pointer) int32

//go:wasmimport raidakx record_write
func hostRecordWrite(den int32, sn uint32, ptr unsafe.Pointer) int32

//go:wasmimport raidakx file_read
func hostFileRead(dir int32, name unsafe.Pointer, nameLen uint32, buf unsafe.Pointer, bufLen uint32) int32

//go:wasmimport raidakx file_write
func hostFileWrite(dir int32, name unsafe.Pointer, nameLen uint32, data unsafe.Pointer, dataLen uint32) int32

//go:wasmimport raidakx time_now
func hostTimeNow() int64

//go:wasmimport raidakx log
func hostLog(level int32, ptr unsafe.Pointer, n uint32)

//go:wasmimport raidakx aes_ctr
func hostAESCTR(key unsafe.Pointer, keyLen uint32, iv unsafe.Pointer, buf unsafe.Pointer, bufLen uint32)

//go:wasmimport raidakx sha256
func hostSHA256(data unsafe.Pointer, dataLen uint32, out unsafe.Pointer)

//go:wasmimport raidakx hmac_sha256
func hostHMACSHA256(key unsafe.Pointer, keyLen uint32, data unsafe.Pointer, dataLen uint32, out unsafe.Pointer)

//go:wasmexport raidakx_abi_version
func exportABIVersion() int32 { return abi.Version }

//go:wasmexport raidakx_configure
func exportConfigure(raidaID, coinID int32) int32 {
	cfg := abi.Config{RaidaID: byte(raidaID), CoinID: uint16(coinID)}
	if raidaID < 0 || coinID < 0 || coinID > 0xffff || !cfg.Valid() {
		return int32(abi.ErrBadConfig)
	}
	config, configured = cfg, true
	return 0
}

//go:wasmexport raidakx_request_buffer
func exportRequestBuffer() int32 { return int32(uintptr(unsafe.Pointer(&requestBuf[0]))) }

//go:wasmexport raidakx_response_buffer
func exportResponseBuffer() int32 { return int32(uintptr(unsafe.Pointer(&responseBuf[0]))) }

//go:wasmexport raidakx_handle
func exportHandle(n int32) int32 {
	if !configured {
		panic("raidakx_handle called before raidakx_configure")
	}
	if n < 0 || n > abi.RequestCap {
		panic("raidakx_handle: request length out of range")
	}
	req := requestBuf[:n]
	if len(req) < abi.HeaderSize {
		return 0
	}
	switch req[abi.OffCommand] {
	case 0:
		return answer(req, abi.StatusSuccess)
	case 1:
		panic("faulty: behaviour 1, a Go panic")
	case 2:
		// The loaded value goes to a global so the load cannot be removed.
		sink += *(*uint64)(outside())
		return answer(req, abi.StatusSuccess)
	case 3:
		const msg = "faulty: looping"
		hostLog(int32(abi.LogInfo), unsafe.Pointer(unsafe.StringData(msg)), uint32(len(msg)))
		for {
			spin++
		}
	case 4:
		for {
			b := make([]byte, 1<<20)
			for i := 0; i < len(b); i += 4096 {
				b[i] = byte(i)
			}
			hoard = append(hoard, b)
		}
	case 5:
		mustOK(hostPageLock(faultyDen, faultyPage))
		panic("faulty: behaviour 5, a Go panic holding a page lock")
	case 6:
		mustOK(hostPageLock(faultyDen, faultyPage))
		sink += uint64(hostRecordRead(faultyDen, faultySN, outside()))
		mustOK(hostPageUnlock(faultyDen, faultyPage))
		return answer(req, abi.StatusSuccess)
	case 7:
		rec := faultyRecord
		mustOK(hostPageLock(faultyDen, faultyPage))
		mustOK(hostRecordWrite(faultyDen, faultySN, unsafe.Pointer(&rec)))
		mustOK(hostPageUnlock(faultyDen, faultyPage))
		panic("faulty: behaviour 7, a Go panic after a completed record write")
	case 8:
		mustOK(hostPageLock(faultyDen, faultyPage))
		return answer(req, abi.StatusSuccess)
	case 9:
		answer(req, abi.StatusSuccess)
		return 5
	case 10:
		return answerErrno(req, hostPageUnlock(bodyDen(req), 0))
	case 11:
		mustOK(hostPageLock(faultyDen, faultyPage))
		e := hostPageLock(bodyDen(req), 0)
		mustOK(hostPageUnlock(faultyDen, faultyPage))
		return answerErrno(req, e)
	case 12:
		mustOK(hostPageLock(faultyDen, faultyPage))
		e := hostRecordRead(bodyDen(req), faultySN, outside())
		mustOK(hostPageUnlock(faultyDen, faultyPage))
		return answerErrno(req, e)
	case 13:
		for end := hostTimeNow() + int64(bodyDen(req))*1000; hostTimeNow() < end; {
		}
		return answer(req, abi.StatusSuccess)
	case 14:
		var rnd [16]byte
		mustOK(hostRandom(unsafe.Pointer(&rnd[0]), uint32(len(rnd))))
		const name, data = "faulty.txt", "faulty file"
		mustOK(hostFileWrite(int32(abi.DirKeys), unsafe.Pointer(unsafe.StringData(name)), uint32(len(name)),
			unsafe.Pointer(unsafe.StringData(data)), uint32(len(data))))
		var buf [64]byte
		n := hostFileRead(int32(abi.DirKeys), unsafe.Pointer(unsafe.StringData(name)), uint32(len(name)),
			unsafe.Pointer(&buf[0]), uint32(len(buf)))
		if n < 0 || string(buf[:n]) != data {
			panic("faulty: file_read did not return what file_write wrote")
		}
		const msg = "faulty: every import called"
		hostLog(int32(abi.LogInfo), unsafe.Pointer(unsafe.StringData(msg)), uint32(len(msg)))
		return answer(req, abi.StatusSuccess)
	case 15:
		mustOK(hostPageLock(faultyDen, faultyPage))
		const msg = "faulty: looping"
		hostLog(int32(abi.LogInfo), unsafe.Pointer(unsafe.StringData(msg)), uint32(len(msg)))
		for {
			spin++
		}
	case 16:
		var rec [abi.RecordSize]byte
		mustOK(hostPageLock(faultyDen, faultyPage))
		mustOK(hostRecordRead(faultyDen, faultySN, unsafe.Pointer(&rec)))
		mustOK(hostPageUnlock(faultyDen, faultyPage))
		return answer(req, abi.StatusSuccess)
	case 17:
		buf := nistBlock
		hostAESCTR(unsafe.Pointer(&nistKey256[0]), uint32(bodyDen(req)), unsafe.Pointer(&nistCounter[0]), unsafe.Pointer(&buf[0]), uint32(len(buf)))
		return answerBytes(req, buf[:4])
	case 18:
		hostAESCTR(unsafe.Pointer(&nistKey128[0]), uint32(len(nistKey128)), unsafe.Pointer(&nistCounter[0]), outside(), abi.AESBlockSize)
		return answer(req, abi.StatusSuccess)
	case 19:
		var out [abi.SHA256Size]byte
		hostSHA256(nil, uint32(bodyDen(req)), unsafe.Pointer(&out[0]))
		return answerBytes(req, out[:4])
	case 20:
		buf := nistBlock
		hostHMACSHA256(unsafe.Pointer(&nistKey128[0]), uint32(len(nistKey128)), unsafe.Pointer(&buf[0]), uint32(len(buf)), outside())
		return answer(req, abi.StatusSuccess)
	case 21:
		buf := nistBlock
		hostAESCTR(unsafe.Pointer(&nistKey128[0]), uint32(len(nistKey128)), unsafe.Pointer(&nistCounter[0]), unsafe.Pointer(&buf[0]), uint32(len(buf)))
		return answerBytes(req, buf[:])
	}
	return answer(req, abi.StatusInvalidCommand)
}

// answer writes a 32-byte response without payload: the node's raida_id,
// status, the response group, the echo bytes, and as the challenge the
// first 16 body bytes of the request (zero when shorter).
func answer(req []byte, status abi.Status) int32 {
	h := abi.ResponseHeader{
		RaidaID: config.RaidaID,
		Status:  status,
		Group:   abi.ResponseGroup(req, config.RaidaID),
		Echo:    [2]byte{req[abi.OffEcho], req[abi.OffEcho+1]},
	}
	copy(h.Challenge[:], req[abi.HeaderSize:])
	h.Encode(responseBuf[:])
	return abi.HeaderSize
}

// bodyDen returns the big-endian int32 in body bytes 0-3, 0 when the body
// is shorter.
func bodyDen(req []byte) int32 {
	if len(req) < abi.HeaderSize+4 {
		return 0
	}
	b := req[abi.HeaderSize:]
	return int32(uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]))
}

// answerErrno answers like 0 with the errno e as challenge bytes 0-3.
func answerErrno(req []byte, e int32) int32 {
	n := answer(req, abi.StatusSuccess)
	c := responseBuf[abi.OffRespChallenge:]
	c[0], c[1], c[2], c[3] = byte(e>>24), byte(e>>16), byte(e>>8), byte(e)
	return n
}

// answerBytes answers like 0 with b (at most 16 bytes) as the first
// challenge bytes.
func answerBytes(req []byte, b []byte) int32 {
	n := answer(req, abi.StatusSuccess)
	copy(responseBuf[abi.OffRespChallenge:abi.OffRespChallenge+16], b)
	return n
}

// outside returns the pointer 0xfffffff0, beyond the end of memory (Go
// never grows a module's memory near 4 GiB), made from a real pointer so
// that it is a valid conversion to go vet.
func outside() unsafe.Pointer {
	base := unsafe.Pointer(&requestBuf[0])
	return unsafe.Add(base, uintptr(badPointer)-uintptr(base))
}

func mustOK(errno int32) {
	if errno != 0 {
		panic("faulty: import failed: " + abi.Errno(errno).Error())
	}
}
