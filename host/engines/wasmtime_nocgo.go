//go:build !cgo

package engines

func init() {
	unavailable["wasmtime"] = "this raidakx was built with CGO_ENABLED=0; the wasmtime engine needs cgo (gcc)"
}
