//go:build !wasip1

package main

import "unsafe"

// Native stand-ins for the host imports, so that this package compiles and
// is vetted outside the sandbox. The module is never run this way.

const notWasm = "raidakx: host imports exist only in the wasip1 build"

func hostRandom(unsafe.Pointer, uint32) int32                                  { panic(notWasm) }
func hostPageLock(int32, uint32) int32                                         { panic(notWasm) }
func hostPageUnlock(int32, uint32) int32                                       { panic(notWasm) }
func hostRecordRead(int32, uint32, unsafe.Pointer) int32                       { panic(notWasm) }
func hostRecordWrite(int32, uint32, unsafe.Pointer) int32                      { panic(notWasm) }
func hostFileRead(int32, unsafe.Pointer, uint32, unsafe.Pointer, uint32) int32 { panic(notWasm) }
func hostFileWrite(int32, unsafe.Pointer, uint32, unsafe.Pointer, uint32) int32 {
	panic(notWasm)
}
func hostTimeNow() int64                    { panic(notWasm) }
func hostLog(int32, unsafe.Pointer, uint32) { panic(notWasm) }
func hostAESCTR(unsafe.Pointer, uint32, unsafe.Pointer, unsafe.Pointer, uint32) {
	panic(notWasm)
}
func hostSHA256(unsafe.Pointer, uint32, unsafe.Pointer) { panic(notWasm) }
func hostHMACSHA256(unsafe.Pointer, uint32, unsafe.Pointer, uint32, unsafe.Pointer) {
	panic(notWasm)
}
