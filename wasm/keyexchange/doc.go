// Package keyexchange is the request path of the RAIDA key-exchange
// commands: header and body checks, type-1 decryption, the CRC-checked
// challenge, commands 41-45 and echo, and the response packet. The rules it
// follows are docs/PROTOCOL.md.
//
// It is ordinary Go: the module (package main one folder up) runs it inside
// the sandbox with the host's imports behind Host, and native code (tests,
// fuzzing, the native engine) runs it with any other Host.
package keyexchange
