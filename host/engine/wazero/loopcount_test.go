package wazero

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/engine"
	"github.com/raidakx/raidakx/host/engine/wazero/loopcount"
	"github.com/raidakx/raidakx/host/imports"
	"github.com/raidakx/raidakx/host/storage"
	"github.com/raidakx/raidakx/wasm/wasmtest"
)

// These tests are in package wazero to read the counter through
// Instance.mod.

// loopEchoRequest is the echo request of testvectors/echo.json
// (echo/facts-type0), for node loopEchoConfig.
const loopEchoRequest = "01000e00000000060000000000000000000000000000001282d6ad8ff317aabb000102030405060708090a0b9270c9653e3e"

var loopEchoConfig = abi.Config{RaidaID: 14, CoinID: 6}

// realModules compiles the real module, as built by wasmtest.Path, once
// per test binary: as is, and instrumented by loopcount. Both use the
// optimizing compiler, whose interruption checks the counter counts.
var realModules struct {
	once                   sync.Once
	plain, counted         *Module
	plainSize, countedSize int
	err                    error
}

func compileReal(tb testing.TB) (plain, counted *Module) {
	tb.Helper()
	path := wasmtest.Path(tb)
	m := &realModules
	m.once.Do(func() {
		var wasm, out []byte
		if wasm, m.err = os.ReadFile(path); m.err != nil {
			return
		}
		if out, m.err = loopcount.Instrument(wasm); m.err != nil {
			return
		}
		m.plainSize, m.countedSize = len(wasm), len(out)
		ctx, opts, quiet := context.Background(), engine.Options{MemoryLimit: 32 << 20}, slog.New(slog.DiscardHandler)
		if m.plain, m.err = Compile(ctx, wasm, false, opts, quiet); m.err != nil {
			return
		}
		m.counted, m.err = Compile(ctx, out, false, opts, quiet)
	})
	if m.err != nil {
		tb.Fatalf("%s: %v", path, m.err)
	}
	return m.plain, m.counted
}

// loopCount returns the counter of an instance of an instrumented module:
// the loop headers it has executed since it was made.
func loopCount(tb testing.TB, inst engine.Instance) uint64 {
	tb.Helper()
	g := inst.(*Instance).mod.ExportedGlobal(loopcount.Export)
	if g == nil {
		tb.Fatalf("the instance has no global %s", loopcount.Export)
	}
	return g.Get()
}

// loopEnv returns the imports of one instance over in-memory storage.
func loopEnv(records *storage.MemRecords, files *storage.MemFiles) *imports.Env {
	return imports.NewEnv(&imports.Backend{
		Records: records,
		Files:   files,
		Random:  rand.Reader,
		Clock:   time.Now,
		Logger:  slog.New(slog.DiscardHandler),
	})
}

// TestLoopCountRealModule instruments the real module and serves the echo
// request on it and on the module as is: the answers are the same (but
// for bytes 12-15, the execution time) and each request adds to the
// counter.
func TestLoopCountRealModule(t *testing.T) {
	plain, counted := compileReal(t)
	t.Logf("module %d bytes, instrumented %d bytes", realModules.plainSize, realModules.countedSize)
	req, err := hex.DecodeString(loopEchoRequest)
	if err != nil {
		t.Fatal(err)
	}
	var insts [2]engine.Instance
	var envs [2]*imports.Env
	for i, m := range []*Module{plain, counted} {
		envs[i] = loopEnv(storage.NewMemRecords(nil), storage.NewMemFiles(nil))
		if insts[i], err = m.Instantiate(envs[i], loopEchoConfig); err != nil {
			t.Fatal(err)
		}
		defer insts[i].Close()
	}
	if g := insts[0].(*Instance).mod.ExportedGlobal(loopcount.Export); g != nil {
		t.Fatalf("the module as built already exports %s", loopcount.Export)
	}
	last := loopCount(t, insts[1])
	if last == 0 {
		t.Error("no loop header ran while instantiating (the Go runtime's initialization)")
	}
	t.Logf("instantiation and configuration: %d loop headers", last)
	want, got := make([]byte, abi.ResponseCap), make([]byte, abi.ResponseCap)
	for i := range 3 {
		wn, err := engine.Serve(insts[0], envs[0], loopEchoConfig, req, want)
		if err != nil {
			t.Fatal(err)
		}
		gn, err := engine.Serve(insts[1], envs[1], loopEchoConfig, req, got)
		if err != nil {
			t.Fatal(err)
		}
		if gn != wn || gn < abi.HeaderSize || got[abi.OffRespStatus] != byte(abi.StatusSuccess) {
			t.Fatalf("request %d: instrumented answer %x, as built %x", i, got[:gn], want[:wn])
		}
		copy(got[12:16], want[12:16]) // the execution time
		if !bytes.Equal(got[:gn], want[:wn]) {
			t.Fatalf("request %d: instrumented answer %x, as built %x (bytes 12-15 ignored)", i, got[:gn], want[:wn])
		}
		c := loopCount(t, insts[1])
		if c <= last {
			t.Errorf("request %d: counter %d, was %d", i, c, last)
		}
		t.Logf("echo request %d: %d loop headers", i, c-last)
		last = c
	}
}
