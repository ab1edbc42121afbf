//go:build wasip1

package main

import (
	"unsafe"

	"github.com/raidakx/raidakx/abi"
)

//go:wasmexport raidakx_abi_version
func exportABIVersion() int32 { return abi.Version }

//go:wasmexport raidakx_configure
func exportConfigure(raidaID, coinID int32) int32 { return configure(raidaID, coinID) }

//go:wasmexport raidakx_request_buffer
func exportRequestBuffer() int32 { return int32(uintptr(unsafe.Pointer(&requestBuf[0]))) }

//go:wasmexport raidakx_response_buffer
func exportResponseBuffer() int32 { return int32(uintptr(unsafe.Pointer(&responseBuf[0]))) }

//go:wasmexport raidakx_handle
func exportHandle(n int32) int32 { return handle(n) }
