package main

import (
	"unsafe"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/wasm/keyexchange"
)

// importedHost implements keyexchange.Host with the host imports. Its
// methods have pointer receivers so that interface calls reach them
// without the wrapper a value receiver needs.
type importedHost struct{}

var _ keyexchange.Host = (*importedHost)(nil)

// ptr returns the address of b's first byte (nil for a nil slice). It has
// no branch, unlike a check for an empty slice: every branch the guest
// takes is a point where wazero checks for interruption. The host accepts
// any pointer with length 0 that is inside memory, and an empty slice's
// pointer is.
func ptr(b []byte) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(b)) }

func (*importedHost) Random(dst []byte) abi.Errno {
	return abi.Errno(hostRandom(ptr(dst), uint32(len(dst))))
}

func (*importedHost) PageLock(den int8, page uint32) abi.Errno {
	return abi.Errno(hostPageLock(int32(den), page))
}

func (*importedHost) PageUnlock(den int8, page uint32) abi.Errno {
	return abi.Errno(hostPageUnlock(int32(den), page))
}

func (*importedHost) RecordRead(den int8, sn uint32, rec *[abi.RecordSize]byte) abi.Errno {
	return abi.Errno(hostRecordRead(int32(den), sn, unsafe.Pointer(rec)))
}

func (*importedHost) RecordWrite(den int8, sn uint32, rec *[abi.RecordSize]byte) abi.Errno {
	return abi.Errno(hostRecordWrite(int32(den), sn, unsafe.Pointer(rec)))
}

func (*importedHost) FileRead(dir abi.Dir, name, dst []byte) (int, abi.Errno) {
	n := hostFileRead(int32(dir), ptr(name), uint32(len(name)), ptr(dst), uint32(len(dst)))
	if n < 0 {
		return 0, abi.Errno(n)
	}
	return int(n), abi.OK
}

func (*importedHost) FileWrite(dir abi.Dir, name, data []byte) abi.Errno {
	return abi.Errno(hostFileWrite(int32(dir), ptr(name), uint32(len(name)), ptr(data), uint32(len(data))))
}

func (*importedHost) TimeNow() int64 { return hostTimeNow() }

func (*importedHost) Log(level abi.LogLevel, msg []byte) {
	hostLog(int32(level), ptr(msg), uint32(min(len(msg), abi.MaxLogMessage)))
}

func (*importedHost) AESCTR(key []byte, iv *[abi.AESBlockSize]byte, buf []byte) {
	hostAESCTR(ptr(key), uint32(len(key)), unsafe.Pointer(iv), ptr(buf), uint32(len(buf)))
}

func (*importedHost) SHA256(data []byte, out *[abi.SHA256Size]byte) {
	hostSHA256(ptr(data), uint32(len(data)), unsafe.Pointer(out))
}

func (*importedHost) HMACSHA256(key, data []byte, out *[abi.SHA256Size]byte) {
	hostHMACSHA256(ptr(key), uint32(len(key)), ptr(data), uint32(len(data)), unsafe.Pointer(out))
}
