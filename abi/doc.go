// Package abi is the contract between the raidakx key-exchange module
// (build/keyexchange.wasm) and any host that runs it.
//
// It holds what both sides share and nothing else: the names and
// WebAssembly signatures of the module's imports and exports, buffer sizes,
// the errno values the imports return, the RAIDA status codes, and pure
// encode/decode helpers for the wire format. It has no runtime, no I/O and
// no unsafe code, so the guest (GOOS=wasip1) and every host import it.
//
// ABI.md in this folder is the normative document; the constants here
// mirror it.
package abi
