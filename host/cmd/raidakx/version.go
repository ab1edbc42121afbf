package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"slices"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/engine"
	"github.com/raidakx/raidakx/host/engines"
)

// versionDeps are the modules whose version raidakx version prints.
var versionDeps = []struct{ name, path string }{
	{"wazero", "github.com/tetratelabs/wazero"},
	{"wasmtime-go", "github.com/bytecodealliance/wasmtime-go/v39"},
}

func runVersion(args []string) int {
	fs := newFlagSet("version", "raidakx version [flags]",
		`Prints the module's ABI version (asked of the module itself, under the wazero
interpreter) and SHA-256, and the versions of raidakx, Go, wazero and wasmtime-go.`,
		"raidakx version -wasm build/keyexchange.wasm")
	wasmPath := fs.String("wasm", defaultWasm(), "module file")
	pos, code, ok := fs.parse(args)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		return fs.fail("takes no arguments")
	}
	exit := 0
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		fmt.Fprintln(os.Stderr, "raidakx version: no build information in this binary")
		return 1
	}
	fmt.Printf("raidakx      %s\n", bi.Main.Version)
	fmt.Printf("module       %s\n", *wasmPath)
	if wasm, err := os.ReadFile(*wasmPath); err != nil {
		fmt.Fprintln(os.Stderr, "raidakx version:", err)
		exit = 1
	} else {
		fmt.Printf("  sha256     %x\n", sha256.Sum256(wasm))
		v, err := moduleABI(*wasmPath)
		if err != nil {
			fmt.Fprintln(os.Stderr, "raidakx version:", err)
			v, exit = "unknown", 1
		}
		fmt.Printf("  abi        %s\n", v)
	}
	fmt.Printf("host abi     v%d\n", abi.Version)
	fmt.Printf("go           %s\n", bi.GoVersion)
	for _, d := range versionDeps {
		i := slices.IndexFunc(bi.Deps, func(m *debug.Module) bool { return m.Path == d.path })
		v := "not in this build"
		if i >= 0 {
			v = bi.Deps[i].Version
		}
		fmt.Printf("%-12s %s\n", d.name, v)
	}
	return exit
}

// moduleABI loads the module under the wazero interpreter (quick to
// compile, no cache), which asks it for raidakx_abi_version and refuses
// it unless that is abi.Version.
// A mismatch is an error that names the module's version.
func moduleABI(path string) (string, error) {
	mod, err := engines.Load(context.Background(), "wazero-interp", path, engine.Options{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return "", err
	}
	mod.Close()
	return fmt.Sprintf("v%d (the module's raidakx_abi_version; its imports and exports match)", abi.Version), nil
}
