// Command keyexchange is the raidakx WebAssembly module: a WASI reactor
// (built with -buildmode=c-shared) whose exports and imports are those of
// abi/ABI.md. It is glue only: the request path is package keyexchange.
//
// Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o build/keyexchange.wasm ./wasm
//
// Under any other GOOS the imports are stand-ins that panic, so that
// go vet and the compiler check this package natively.
package main

import (
	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/wasm/keyexchange"
)

func main() {}

// The per-instance buffers the host copies requests into and responses out
// of; their addresses are exported once, so no call allocates to pass data.
var (
	requestBuf  [abi.RequestCap]byte
	responseBuf [abi.ResponseCap]byte
	handler     *keyexchange.Handler
)

// configure implements raidakx_configure.
func configure(raidaID, coinID int32) int32 {
	cfg := abi.Config{RaidaID: byte(raidaID), CoinID: uint16(coinID)}
	if raidaID < 0 || coinID < 0 || coinID > 0xffff || !cfg.Valid() {
		return int32(abi.ErrBadConfig)
	}
	handler = keyexchange.NewHandler(&importedHost{}, cfg)
	return 0
}

// handle implements raidakx_handle. Calling it unconfigured or with a
// length outside 0..RequestCap is a host bug: the module traps.
func handle(n int32) int32 {
	if handler == nil {
		panic("raidakx_handle called before raidakx_configure")
	}
	if n < 0 || n > abi.RequestCap {
		panic("raidakx_handle: request length out of range")
	}
	return int32(handler.Handle(requestBuf[:n], responseBuf[:]))
}
