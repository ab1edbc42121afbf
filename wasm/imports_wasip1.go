//go:build wasip1

package main

import "unsafe"

// The host imports of abi/ABI.md.

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
