// Package wasmtest builds the key-exchange module for tests, so that
// go test works from a clean checkout without make.
package wasmtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// EnvPath names an environment variable that, when set, is the module the
// tests use instead of building one (make test points it at
// build/keyexchange.wasm, so the shipped artifact is what is tested).
const EnvPath = "RAIDAKX_WASM"

// module is a module built once per test binary, from a package folder
// relative to this one, unless an environment variable names a file.
type module struct {
	env, dir, name string
	once           sync.Once
	path           string
	err            error
}

var (
	keyexchange = &module{env: EnvPath, dir: "..", name: "keyexchange.wasm"}
	faulty      = &module{env: EnvFaultyPath, dir: "../../host/engine/testdata/faulty", name: "faulty.wasm"}
)

func (m *module) get(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv(m.env); p != "" {
		return p
	}
	m.once.Do(func() {
		var dir string
		if dir, m.err = os.MkdirTemp("", "raidakx-wasm"); m.err == nil {
			m.path = filepath.Join(dir, m.name)
			m.err = build(m.dir, m.path)
		}
	})
	if m.err != nil {
		tb.Fatalf("build %s: %v", m.name, m.err)
	}
	return m.path
}

// Path returns the path of the module, building it once per test binary.
func Path(tb testing.TB) string { return keyexchange.get(tb) }

// FaultyPath returns the path of the faulty module
// (host/engine/testdata/faulty), building it once per test binary.
func FaultyPath(tb testing.TB) string { return faulty.get(tb) }

// Build compiles the module (package wasm of this repository) to out.
func Build(out string) error { return build(keyexchange.dir, out) }

// build compiles the reactor in folder dir (relative to this package) to
// out.
func build(dir, out string) error {
	_, file, _, _ := runtime.Caller(0)
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-o", out, ".")
	cmd.Dir = filepath.Join(filepath.Dir(file), dir)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	cmd.Stderr = os.Stderr
	return cmd.Run()
}
