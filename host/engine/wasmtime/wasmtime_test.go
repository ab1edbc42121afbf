//go:build cgo

package wasmtime

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/engine"
	wz "github.com/raidakx/raidakx/host/engine/wazero"
	"github.com/raidakx/raidakx/host/imports"
	"github.com/raidakx/raidakx/host/storage"
	"github.com/raidakx/raidakx/wasm/wasmtest"
)

// The echo exchange of testvectors/echo.json (echo/facts-type0).
const (
	echoRequest  = "01000e00000000060000000000000000000000000000001282d6ad8ff317aabb000102030405060708090a0b9270c9653e3e"
	echoResponse = "0e00fa000001aabb0000000000000000000102030405060708090a0b9270c965"
)

var echoConfig = abi.Config{RaidaID: 14, CoinID: 6}

// logSink is a slog handler that keeps every message, for tests that look
// at the log.
type logSink struct {
	mu   sync.Mutex
	msgs []string
}

func (s *logSink) Enabled(context.Context, slog.Level) bool { return true }
func (s *logSink) WithAttrs([]slog.Attr) slog.Handler       { return s }
func (s *logSink) WithGroup(string) slog.Handler            { return s }
func (s *logSink) Handle(_ context.Context, r slog.Record) error {
	line := r.Message
	r.Attrs(func(a slog.Attr) bool {
		line += " " + a.Key + "=" + a.Value.String()
		return true
	})
	s.mu.Lock()
	s.msgs = append(s.msgs, line)
	s.mu.Unlock()
	return nil
}

func (s *logSink) contains(sub string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.msgs {
		if strings.Contains(m, sub) {
			return true
		}
	}
	return false
}

var quiet = slog.New(slog.DiscardHandler)

func newEnv(logger *slog.Logger) *imports.Env {
	return imports.NewEnv(&imports.Backend{
		Records: storage.NewMemRecords(nil),
		Files:   storage.NewMemFiles(nil),
		Random:  rand.Reader,
		Clock:   func() time.Time { return time.Unix(1795000000, 0) },
		Logger:  logger,
	})
}

func unhex(tb testing.TB, s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

var (
	realOnce sync.Once
	realMod  *Module
	realErr  error
)

// realModule compiles the key-exchange module once for the whole test
// binary.
func realModule(tb testing.TB) *Module {
	tb.Helper()
	path := wasmtest.Path(tb)
	realOnce.Do(func() {
		var wasm []byte
		if wasm, realErr = os.ReadFile(path); realErr == nil {
			realMod, realErr = Compile(context.Background(), wasm, engine.Options{}, quiet)
		}
	})
	if realErr != nil {
		tb.Fatal(realErr)
	}
	return realMod
}

// checkEcho checks an echo answer, ignoring bytes 12-15 (the execution
// time).
func checkEcho(tb testing.TB, got []byte) {
	tb.Helper()
	want := unhex(tb, echoResponse)
	if len(got) != len(want) {
		tb.Fatalf("response %x, want %x", got, want)
	}
	got = bytes.Clone(got)
	copy(got[12:16], want[12:16])
	if !bytes.Equal(got, want) {
		tb.Fatalf("response %x, want %x (bytes 12-15 ignored)", got, want)
	}
}

func TestEcho(t *testing.T) {
	mod := realModule(t)
	env := newEnv(quiet)
	inst, err := mod.Instantiate(env, echoConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	resp := make([]byte, abi.ResponseCap)
	for range 3 { // the same instance answers again and again
		n, err := engine.Serve(inst, env, echoConfig, unhex(t, echoRequest), resp)
		if err != nil {
			t.Fatal(err)
		}
		checkEcho(t, resp[:n])
	}
	// Shorter than a header: no answer.
	if n, err := engine.Serve(inst, env, echoConfig, make([]byte, 31), resp); err != nil || n != 0 {
		t.Fatalf("31-byte request: n %d err %v, want 0 nil", n, err)
	}
}

// TestEchoConcurrent runs instances of one module on several goroutines at
// once (go test -race checks the engine's own state).
func TestEchoConcurrent(t *testing.T) {
	mod := realModule(t)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			env := newEnv(quiet)
			inst, err := mod.Instantiate(env, echoConfig)
			if err != nil {
				t.Error(err)
				return
			}
			defer inst.Close()
			resp := make([]byte, abi.ResponseCap)
			req := unhex(t, echoRequest)
			for range 50 {
				n, err := engine.Serve(inst, env, echoConfig, req, resp)
				if err != nil {
					t.Error(err)
					return
				}
				checkEcho(t, resp[:n])
			}
		})
	}
	wg.Wait()
}

func TestConfigureRefused(t *testing.T) {
	_, err := realModule(t).Instantiate(newEnv(quiet), abi.Config{RaidaID: 25, CoinID: 6})
	if !errors.Is(err, abi.ErrBadConfig) {
		t.Fatalf("raida_id 25: %v, want ErrBadConfig", err)
	}
}

// watModule is a hand-written module implementing the ABI exports. Its
// request buffer is at 0 and its response buffer at 65568, in 2 pages;
// HANDLE is the body of raidakx_handle, whose parameter is $len.
const watModule = `(module
  (import "raidakx" "random" (func $random (param i32 i32) (result i32)))
  (import "raidakx" "page_lock" (func $page_lock (param i32 i32) (result i32)))
  (import "raidakx" "log" (func $log (param i32 i32 i32)))
  (import "raidakx" "time_now" (func $time_now (result i64)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (data (i32.const 70000) "hello from the guest\n")
  (func (export "_initialize"))
  (func (export "raidakx_abi_version") (result i32) (i32.const VERSION))
  (func (export "raidakx_configure") (param i32 i32) (result i32) (i32.const 0))
  (func (export "raidakx_request_buffer") (result i32) (i32.const 0))
  (func (export "raidakx_response_buffer") (result i32) (i32.const 65568))
  (func (export "raidakx_handle") (param $len i32) (result i32)
    HANDLE))`

// echoBody copies the request's first 32 bytes to the response.
const echoBody = `(memory.copy (i32.const 65568) (i32.const 0) (i32.const 32)) (i32.const 32)`

func wat(tb testing.TB, handle string, version int) []byte {
	tb.Helper()
	src := strings.NewReplacer("HANDLE", handle, "VERSION", string(rune('0'+version))).Replace(watModule)
	wasm, err := wasmtime.Wat2Wasm(src)
	if err != nil {
		tb.Fatal(err)
	}
	return wasm
}

func compileWAT(tb testing.TB, handle string, opts engine.Options, logger *slog.Logger) *Module {
	tb.Helper()
	mod, err := Compile(context.Background(), wat(tb, handle, abi.Version), opts, logger)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { mod.Close() })
	return mod
}

func request(b byte, n int) []byte {
	req := make([]byte, n)
	for i := range req {
		req[i] = b + byte(i)
	}
	return req
}

func TestWATEcho(t *testing.T) {
	mod := compileWAT(t, echoBody, engine.Options{}, quiet)
	inst, err := mod.Instantiate(newEnv(quiet), echoConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	resp := make([]byte, abi.ResponseCap)
	n, err := inst.Handle(request(7, 40), resp)
	if err != nil || !bytes.Equal(resp[:n], request(7, 32)) {
		t.Fatalf("Handle: %x %v, want %x", resp[:n], err, request(7, 32))
	}
	if _, err := inst.Handle(make([]byte, abi.RequestCap+1), resp); err == nil {
		t.Fatal("request longer than RequestCap accepted")
	}
}

// TestImportErrno checks an errno answer: a den no int8 holds is
// ErrNoRecord, like the wazero engine answers.
func TestImportErrno(t *testing.T) {
	mod := compileWAT(t, `(i32.store (i32.const 65568) (call $page_lock (i32.const 300) (i32.const 0))) (i32.const 32)`, engine.Options{}, quiet)
	env := newEnv(quiet)
	inst, err := mod.Instantiate(env, echoConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	resp := make([]byte, abi.ResponseCap)
	n, err := engine.Serve(inst, env, echoConfig, request(0, 32), resp)
	if err != nil || n != 32 || abi.Errno(int32(uint32(resp[0])|uint32(resp[1])<<8|uint32(resp[2])<<16|uint32(resp[3])<<24)) != abi.ErrNoRecord {
		t.Fatalf("page_lock(300, 0): %x %v, want ErrNoRecord", resp[:4], err)
	}
}

func TestABIRefused(t *testing.T) {
	for _, tc := range []struct {
		name, wat string
		want      []string
	}{{
		name: "wrong signature and missing export",
		wat: `(module
		  (import "raidakx" "random" (func (param i32) (result i32)))
		  (memory (export "memory") 1)
		  (func (export "_initialize"))
		  (func (export "raidakx_abi_version") (result i32) (i32.const 1))
		  (func (export "raidakx_configure") (param i32 i32) (result i32) (i32.const 0))
		  (func (export "raidakx_request_buffer") (result i32) (i32.const 0))
		  (func (export "raidakx_response_buffer") (result i32) (i32.const 0)))`,
		want: []string{
			"imports raidakx.random as (i32) -> (i32), want (i32, i32) -> (i32)",
			"does not export function raidakx_handle",
		},
	}, {
		name: "unknown import module, wrong export, no memory",
		wat: `(module
		  (import "env" "abort" (func))
		  (import "raidakx" "sleep" (func (param i32)))
		  (func (export "_initialize"))
		  (func (export "raidakx_abi_version") (result i64) (i64.const 1))
		  (func (export "raidakx_configure") (param i32 i32) (result i32) (i32.const 0))
		  (func (export "raidakx_request_buffer") (result i32) (i32.const 0))
		  (func (export "raidakx_response_buffer") (result i32) (i32.const 0))
		  (func (export "raidakx_handle") (param i32) (result i32) (i32.const 0)))`,
		want: []string{
			"imports env.abort from a module this host does not provide",
			"imports raidakx.sleep, which the ABI does not define",
			"exports raidakx_abi_version as () -> (i64), want () -> (i32)",
			"does not export memory",
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			wasm, err := wasmtime.Wat2Wasm(tc.wat)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Compile(context.Background(), wasm, engine.Options{}, quiet)
			var abiErr *engine.ABIError
			if !errors.As(err, &abiErr) {
				t.Fatalf("Compile: %v, want an ABIError", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
	if _, err := Compile(context.Background(), wat(t, echoBody, abi.Version+1), engine.Options{}, quiet); !errors.Is(err, engine.ErrABIVersion) {
		t.Errorf("version %d: %v, want ErrABIVersion", abi.Version+1, err)
	}
	if _, err := Compile(context.Background(), []byte("\x00asm\x01\x00\x00\x00\xff"), engine.Options{}, quiet); err == nil {
		t.Error("invalid module compiled")
	}
}

// TestTraps runs modules that misbehave: each Handle fails, engine.Serve
// answers 252, and the process goes on.
func TestTraps(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		backend    func(*imports.Backend)
		want       string // in the error
		fault      bool   // the error wraps an *imports.Fault
		usable     bool   // the instance did not trap (Serve refused its answer)
	}{
		{name: "random out of range", body: `(drop (call $random (i32.const 0xfffffff0) (i32.const 64))) (i32.const 32)`,
			want: "pointer 0xfffffff0 length 64 outside memory", fault: true},
		{name: "random length overflows", body: `(drop (call $random (i32.const 100) (i32.const 0xffffffff))) (i32.const 32)`,
			want: "outside memory", fault: true},
		{name: "log past the end", body: `(call $log (i32.const 0) (i32.const 131070) (i32.const 10)) (i32.const 32)`,
			want: "outside memory", fault: true},
		{name: "second page lock", body: `(drop (call $page_lock (i32.const 0) (i32.const 0))) (drop (call $page_lock (i32.const 0) (i32.const 1))) (i32.const 32)`,
			want: "page_lock(0, 1) while holding (0, 0)", fault: true},
		{name: "returns holding a lock", body: `(drop (call $page_lock (i32.const 1) (i32.const 2))) (i32.const 32)`,
			want: "returned holding a page lock", fault: true, usable: true},
		{name: "backend panics", body: `(drop (call $page_lock (i32.const 0) (i32.const 0))) (i32.const 32)`,
			backend: func(b *imports.Backend) { b.Records = nil }, want: "import page_lock panicked"},
		{name: "unreachable", body: `unreachable`, want: "unreachable"},
		{name: "memory out of bounds", body: `(i32.load (i32.const 0x7ffffff0))`, want: "out of bounds"},
		{name: "response too long", body: `(i32.const 4097)`, want: "4097-byte response"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mod := compileWAT(t, tc.body, engine.Options{}, quiet)
			records := storage.NewMemRecords(nil)
			b := &imports.Backend{Records: records, Files: storage.NewMemFiles(nil), Random: rand.Reader, Clock: time.Now, Logger: quiet}
			if tc.backend != nil {
				tc.backend(b)
			}
			env := imports.NewEnv(b)
			inst, err := mod.Instantiate(env, echoConfig)
			if err != nil {
				t.Fatal(err)
			}
			defer inst.Close()
			req := unhex(t, echoRequest)
			resp := make([]byte, abi.ResponseCap)
			n, err := engine.Serve(inst, env, echoConfig, req, resp)
			if err == nil {
				t.Fatal("Serve succeeded")
			}
			t.Logf("error: %v", err)
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			var fault *imports.Fault
			if errors.As(err, &fault) != tc.fault {
				t.Errorf("error wraps a Fault: %v, want %v", !tc.fault, tc.fault)
			}
			want := make([]byte, abi.HeaderSize)
			abi.PutInternalError(want, req, echoConfig.RaidaID)
			if !bytes.Equal(resp[:n], want) || resp[2] != 252 {
				t.Errorf("answer %x, want %x (252)", resp[:n], want)
			}
			if env.Locked() {
				t.Error("page lock still held")
			}
			// The instance is unusable; no page stays locked.
			if _, err := inst.Handle(req, resp); err == nil && !tc.usable {
				t.Error("Handle succeeded after a trap")
			}
			env.Release()
			if b.Records != nil {
				done := make(chan struct{})
				go func() {
					records.Lock(0, 0)
					records.Unlock(0, 0)
					records.Lock(1, 2)
					records.Unlock(1, 2)
					close(done)
				}()
				select {
				case <-done:
				case <-time.After(5 * time.Second):
					t.Error("a page lock was not released")
				}
			}
		})
	}
}

var (
	faultyOnce sync.Once
	faultyMod  *Module
	faultyErr  error
)

// faultyModule compiles the faulty module (host/engine/testdata/faulty)
// once for the whole test binary.
func faultyModule(tb testing.TB) *Module {
	tb.Helper()
	path := wasmtest.FaultyPath(tb)
	faultyOnce.Do(func() {
		var wasm []byte
		if wasm, faultyErr = os.ReadFile(path); faultyErr == nil {
			faultyMod, faultyErr = Compile(context.Background(), wasm, engine.Options{}, quiet)
		}
	})
	if faultyErr != nil {
		tb.Fatal(faultyErr)
	}
	return faultyMod
}

// TestCryptoImports runs the faulty module's crypto behaviours (ABI.md
// section 4, "Crypto primitives"), like the wazero engine's test of the
// same name. A key length other than 16 or 32, a length over
// abi.MaxCryptoLen and a region outside memory each trap with the Fault
// that names them, and the request is answered 252; valid calls answer
// with the import's output, which must be the standards' (NIST SP 800-38A
// F.5) or, for sha256 of the module's own memory, the digest of that
// memory read through the store.
func TestCryptoImports(t *testing.T) {
	for _, tc := range wasmtest.FaultyCryptoCases() {
		t.Run(fmt.Sprintf("%d/D%d", tc.Behaviour, tc.D), func(t *testing.T) {
			env := newEnv(quiet)
			inst, err := faultyModule(t).Instantiate(env, echoConfig)
			if err != nil {
				t.Fatal(err)
			}
			defer inst.Close()
			wi := inst.(*Instance)
			memory := func() []byte { return wi.mem.UnsafeData(wi.store) }
			req := wasmtest.FaultyDenRequest(echoConfig, tc.Behaviour, 0x5150, tc.D)
			resp := make([]byte, abi.ResponseCap)
			before := bytes.Clone(memory()[:100])
			n, err := engine.Serve(inst, env, echoConfig, req, resp)
			want := make([]byte, abi.ResponseCap)
			if tc.Reason != "" {
				if err == nil {
					t.Fatalf("no trap (answer %x)", resp[:n])
				}
				var fault *imports.Fault
				if !errors.As(err, &fault) || !strings.Contains(fault.Reason, tc.Reason) {
					t.Errorf("error %v, want an *imports.Fault saying %q", err, tc.Reason)
				}
				if wn := abi.PutInternalError(want, req, echoConfig.RaidaID); !bytes.Equal(resp[:n], want[:wn]) || resp[2] != 252 {
					t.Errorf("answer %x, want %x (252)", resp[:n], want[:wn])
				}
				return
			}
			if err != nil {
				t.Fatalf("trap: %v", err)
			}
			wn := wasmtest.FaultyAnswer(want, req, echoConfig.RaidaID)
			if tc.Challenge == nil {
				copy(want[abi.OffRespChallenge:abi.OffRespChallenge+4], resp[abi.OffRespChallenge:]) // any output
			} else {
				mem := memory()
				if !bytes.Equal(mem[:100], before) {
					t.Fatalf("memory [0, 100) changed during the call: %x, then %x", before, mem[:100])
				}
				copy(want[abi.OffRespChallenge:], tc.Challenge(mem))
			}
			if !bytes.Equal(resp[:n], want[:wn]) {
				t.Errorf("answer %x, want %x", resp[:n], want[:wn])
			}
		})
	}
}

// TestInterrupt stops an instance that loops forever while other
// instances, of the same module and of the real one, keep working.
func TestInterrupt(t *testing.T) {
	// A request of 1 byte loops forever; others are echoed.
	mod := compileWAT(t, `(if (i32.eq (local.get $len) (i32.const 1)) (then (loop $l (br $l)))) `+echoBody, engine.Options{}, quiet)
	looping, err := mod.Instantiate(newEnv(quiet), echoConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer looping.Close()
	other, err := mod.Instantiate(newEnv(quiet), echoConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	realEnv := newEnv(quiet)
	real, err := realModule(t).Instantiate(realEnv, echoConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer real.Close()

	done := make(chan error, 1)
	go func() {
		_, err := looping.Handle([]byte{1}, make([]byte, abi.ResponseCap))
		done <- err
	}()
	resp := make([]byte, abi.ResponseCap)
	work := func() {
		t.Helper()
		if n, err := other.Handle(request(3, 32), resp); err != nil || !bytes.Equal(resp[:n], request(3, 32)) {
			t.Fatalf("other instance: %x %v", resp[:n], err)
		}
		n, err := engine.Serve(real, realEnv, echoConfig, unhex(t, echoRequest), resp)
		if err != nil {
			t.Fatalf("real instance: %v", err)
		}
		checkEcho(t, resp[:n])
	}
	deadline := time.Now().Add(200 * time.Millisecond)
	for time.Now().Before(deadline) {
		work()
	}
	select {
	case err := <-done:
		t.Fatalf("looping call returned by itself: %v", err)
	default:
	}
	looping.Interrupt()
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Interrupt did not stop the call")
	}
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("interrupted call: %v, want ErrInterrupted", err)
	}
	// The engine relies on its own flag, not on trap codes, to say
	// ErrInterrupted: the Go bindings' TrapCode enum lags the C one
	// (OutOfFuel is 11 in Go, 12 in C). Interrupt is 10 in both.
	var trap *trapError
	if !errors.As(err, &trap) {
		t.Fatalf("interrupted call: %T %v, want a trap", err, err)
	}
	if code, ok := trap.Code(); !ok || code != 10 || wasmtime.Interrupt != 10 {
		t.Errorf("trap code %d %v, want WASMTIME_TRAP_CODE_INTERRUPT (10); wasmtime.Interrupt is %d", code, ok, wasmtime.Interrupt)
	}
	for range 10 {
		work()
	}
	if _, err := looping.Handle(request(3, 32), resp); err == nil {
		t.Fatal("interrupted instance still answers")
	}

	// Interrupt before a call: the call fails at once.
	early, err := mod.Instantiate(newEnv(quiet), echoConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer early.Close()
	early.Interrupt()
	if _, err := early.Handle(request(3, 32), resp); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("Handle after Interrupt: %v, want ErrInterrupted", err)
	}
	work()
}

// TestCloseWhileRunning closes a module whose instance loops forever.
func TestCloseWhileRunning(t *testing.T) {
	mod, err := Compile(context.Background(), wat(t, `(loop $l (br $l)) (i32.const 32)`, abi.Version), engine.Options{}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := mod.Instantiate(newEnv(quiet), echoConfig)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := inst.Handle(request(0, 32), make([]byte, abi.ResponseCap))
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	closed := make(chan struct{})
	go func() {
		mod.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Module.Close hangs")
	}
	if err := <-done; err == nil {
		t.Fatal("looping call succeeded")
	}
	inst.Interrupt() // after Close: no effect, no crash
	if err := inst.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := inst.Handle(request(0, 32), make([]byte, abi.ResponseCap)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Handle after Close: %v", err)
	}
	if _, err := mod.Instantiate(newEnv(quiet), echoConfig); !errors.Is(err, ErrClosed) {
		t.Fatalf("Instantiate after Close: %v", err)
	}
}

// TestCloseWhileInstantiating closes a module while instances are being
// made and used on other goroutines: no crash, and every call after the
// close fails.
func TestCloseWhileInstantiating(t *testing.T) {
	mod, err := Compile(context.Background(), wat(t, echoBody, abi.Version), engine.Options{}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			resp := make([]byte, abi.ResponseCap)
			for {
				inst, err := mod.Instantiate(newEnv(quiet), echoConfig)
				if err != nil {
					if !errors.Is(err, ErrClosed) && !errors.Is(err, ErrInterrupted) {
						t.Errorf("Instantiate: %v", err)
					}
					return
				}
				inst.Handle(request(1, 32), resp) // may fail once the module closes
				inst.Close()
			}
		})
	}
	time.Sleep(100 * time.Millisecond)
	mod.Close()
	wg.Wait()
}

func TestMemoryLimit(t *testing.T) {
	// The request's length is the number of pages to grow by; a failed
	// memory.grow traps. 16 pages allowed, 2 used.
	opts := engine.Options{MemoryLimit: 1 << 20}
	mod := compileWAT(t, `(if (i32.eq (memory.grow (local.get $len)) (i32.const -1)) (then unreachable)) `+echoBody, opts, quiet)
	inst, err := mod.Instantiate(newEnv(quiet), echoConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	resp := make([]byte, abi.ResponseCap)
	if n, err := inst.Handle(request(9, 14), resp); err != nil || !bytes.Equal(resp[:14], request(9, 14)) || n != 32 {
		t.Fatalf("growing to the limit: %x %v", resp[:n], err)
	}
	if _, err := inst.Handle(request(9, 1), resp); err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("growing past the limit: %v, want a trap", err)
	}
	// A module whose initial memory is over the limit does not load.
	src := strings.NewReplacer("HANDLE", echoBody, "VERSION", fmt.Sprint(abi.Version), `(memory (export "memory") 2)`, `(memory (export "memory") 17)`).Replace(watModule)
	wasm, err := wasmtime.Wat2Wasm(src)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Compile(context.Background(), wasm, opts, quiet); err == nil {
		t.Fatal("module with 17 initial pages loaded under a 16-page limit")
	} else {
		t.Logf("17 pages: %v", err)
	}
}

// TestStderr checks that what the module writes on stderr is logged.
func TestStderr(t *testing.T) {
	sink := &logSink{}
	// iovec at 69000: {70000, 21}; fd_write(2, iovec, 1, 69100).
	body := `(i32.store (i32.const 69000) (i32.const 70000)) (i32.store (i32.const 69004) (i32.const 21))
	  (drop (call $fd_write (i32.const 2) (i32.const 69000) (i32.const 1) (i32.const 69100))) ` + echoBody
	mod := compileWAT(t, body, engine.Options{}, slog.New(sink))
	inst, err := mod.Instantiate(newEnv(quiet), echoConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	if _, err := inst.Handle(request(0, 32), make([]byte, abi.ResponseCap)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); !sink.contains("hello from the guest"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("stderr not logged; log: %q", sink.msgs)
		}
	}
}

func TestCacheDir(t *testing.T) {
	dir := t.TempDir()
	wasm := wat(t, echoBody, abi.Version)
	for i := range 2 { // compile and store, then load
		mod, err := Compile(context.Background(), wasm, engine.Options{CacheDir: dir}, quiet)
		if err != nil {
			t.Fatal(err)
		}
		if mod.cacheFile == "" {
			t.Fatalf("run %d: no cache file", i)
		}
		inst, err := mod.Instantiate(newEnv(quiet), echoConfig)
		if err != nil {
			t.Fatal(err)
		}
		resp := make([]byte, abi.ResponseCap)
		if n, err := inst.Handle(request(5, 32), resp); err != nil || !bytes.Equal(resp[:n], request(5, 32)) {
			t.Fatalf("run %d: %x %v", i, resp[:n], err)
		}
		mod.Close()
	}
	// A damaged cache file is replaced.
	mod, err := Compile(context.Background(), wasm, engine.Options{CacheDir: dir}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	path := mod.cacheFile
	mod.Close()
	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	mod, err = Compile(context.Background(), wasm, engine.Options{CacheDir: dir}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	mod.Close()
	if b, _ := os.ReadFile(path); string(b) == "garbage" {
		t.Fatal("damaged cache file kept")
	}
	// Another module gets a cache file of its own, in another folder.
	other, err := Compile(context.Background(), wat(t, echoBody, abi.Version), engine.Options{CacheDir: dir}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	mod2, err := Compile(context.Background(), wat(t, `(i32.const 0)`, abi.Version), engine.Options{CacheDir: dir}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer mod2.Close()
	if filepath.Dir(mod2.cacheFile) == filepath.Dir(other.cacheFile) || filepath.Dir(filepath.Dir(mod2.cacheFile)) != filepath.Join(dir, "wasmtime") {
		t.Errorf("two modules cached as %s and %s: want one folder each under %s", other.cacheFile, mod2.cacheFile, filepath.Join(dir, "wasmtime"))
	}
	// A cache folder others can write is refused.
	open := t.TempDir()
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := Compile(context.Background(), wasm, engine.Options{CacheDir: open}, quiet); !errors.Is(err, engine.ErrUntrustedCache) {
		t.Errorf("world-writable cache: error %v, want engine.ErrUntrustedCache", err)
	}
}

// Benchmarks, wasmtime against wazero on the real module.

func realWasm(b *testing.B) []byte {
	wasm, err := os.ReadFile(wasmtest.Path(b))
	if err != nil {
		b.Fatal(err)
	}
	return wasm
}

func BenchmarkCompile(b *testing.B) {
	wasm := realWasm(b)
	for b.Loop() {
		m, err := Compile(context.Background(), wasm, engine.Options{}, quiet)
		if err != nil {
			b.Fatal(err)
		}
		m.Close()
	}
}

func BenchmarkCompileWazero(b *testing.B) {
	wasm := realWasm(b)
	for b.Loop() {
		m, err := wz.Compile(context.Background(), wasm, false, engine.Options{}, quiet)
		if err != nil {
			b.Fatal(err)
		}
		m.Close()
	}
}

func benchInstantiate(b *testing.B, mod engine.Module) {
	env := newEnv(quiet)
	b.ReportAllocs()
	for b.Loop() {
		inst, err := mod.Instantiate(env, echoConfig)
		if err != nil {
			b.Fatal(err)
		}
		inst.Close()
	}
}

func BenchmarkInstantiate(b *testing.B) { benchInstantiate(b, realModule(b)) }

func BenchmarkInstantiateWazero(b *testing.B) {
	mod, err := wz.Compile(context.Background(), realWasm(b), false, engine.Options{}, quiet)
	if err != nil {
		b.Fatal(err)
	}
	defer mod.Close()
	benchInstantiate(b, mod)
}

func benchEcho(b *testing.B, mod engine.Module) {
	env := newEnv(quiet)
	inst, err := mod.Instantiate(env, echoConfig)
	if err != nil {
		b.Fatal(err)
	}
	defer inst.Close()
	req := unhex(b, echoRequest)
	resp := make([]byte, abi.ResponseCap)
	b.ReportAllocs()
	for b.Loop() {
		n, err := engine.Serve(inst, env, echoConfig, req, resp)
		if err != nil || n != 32 {
			b.Fatal(n, err)
		}
	}
	checkEcho(b, resp[:32])
}

func BenchmarkHandleEcho(b *testing.B) { benchEcho(b, realModule(b)) }

func BenchmarkHandleEchoWazero(b *testing.B) {
	mod, err := wz.Compile(context.Background(), realWasm(b), false, engine.Options{}, quiet)
	if err != nil {
		b.Fatal(err)
	}
	defer mod.Close()
	benchEcho(b, mod)
}
