package keyexchange

import "github.com/raidakx/raidakx/abi"

// Host is the module's view of the host imports of abi/ABI.md, one method
// per import. The module's main package implements it with
// //go:wasmimport functions; native callers pass the host's own
// implementation.
type Host interface {
	// Random fills dst with random bytes.
	Random(dst []byte) abi.Errno
	// PageLock locks the page of den holding records page*1024 ..
	// page*1024+1023 for this instance, waiting if another holds it.
	PageLock(den int8, page uint32) abi.Errno
	// PageUnlock releases a page this instance locked.
	PageUnlock(den int8, page uint32) abi.Errno
	// RecordRead copies record (den, sn), AN then MFS, into rec. Holding
	// a page lock, the record must be on that page; holding none, the host
	// locks the record's page for the read and returns ErrNoRecord for a
	// record outside the database.
	RecordRead(den int8, sn uint32, rec *[abi.RecordSize]byte) abi.Errno
	// RecordWrite replaces record (den, sn) with rec. Its page must be
	// locked.
	RecordWrite(den int8, sn uint32, rec *[abi.RecordSize]byte) abi.Errno
	// FileRead reads at most len(dst) bytes of the file dir/name.
	FileRead(dir abi.Dir, name, dst []byte) (int, abi.Errno)
	// FileWrite replaces the file dir/name with data, atomically.
	FileWrite(dir abi.Dir, name, data []byte) abi.Errno
	// TimeNow returns the current time in nanoseconds since the Unix epoch.
	TimeNow() int64
	// Log records a message for the operator.
	Log(level abi.LogLevel, msg []byte)
	// AESCTR XORs buf, in place, with the AES-CTR keystream of key (16 or
	// 32 bytes) from counter block iv.
	AESCTR(key []byte, iv *[abi.AESBlockSize]byte, buf []byte)
	// SHA256 sets out to the SHA-256 digest of data.
	SHA256(data []byte, out *[abi.SHA256Size]byte)
	// HMACSHA256 sets out to HMAC-SHA256(key, data).
	HMACSHA256(key, data []byte, out *[abi.SHA256Size]byte)
}
