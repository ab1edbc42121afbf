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

var (
	once  sync.Once
	built string
	err   error
)

// Path returns the path of the module, building it once per test binary.
func Path(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv(EnvPath); p != "" {
		return p
	}
	once.Do(func() {
		var dir string
		dir, err = os.MkdirTemp("", "raidakx-wasm")
		if err != nil {
			return
		}
		built = filepath.Join(dir, "keyexchange.wasm")
		err = Build(built)
	})
	if err != nil {
		tb.Fatalf("build module: %v", err)
	}
	return built
}

// Build compiles the module (package wasm of this repository) to out.
func Build(out string) error {
	_, file, _, _ := runtime.Caller(0)
	pkg := filepath.Join(filepath.Dir(file), "..")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-o", out, ".")
	cmd.Dir = pkg
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	cmd.Stderr = os.Stderr
	return cmd.Run()
}
