package wazero_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tz "github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/sys"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/engine"
	"github.com/raidakx/raidakx/host/engine/wazero"
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

// The two engines of this package, as package engines names them.
var engines = []struct {
	name   string
	interp bool
}{{"wazero", false}, {"wazero-interp", true}}

var quiet = slog.New(slog.DiscardHandler)

// stderrSink is a slog handler that keeps the text of every message, to
// check what a module printed on stderr.
type stderrSink struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (s *stderrSink) Enabled(context.Context, slog.Level) bool { return true }
func (s *stderrSink) WithAttrs([]slog.Attr) slog.Handler       { return s }
func (s *stderrSink) WithGroup(string) slog.Handler            { return s }
func (s *stderrSink) Handle(_ context.Context, r slog.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		s.buf.WriteString(" " + a.Key + "=" + a.Value.String())
		return true
	})
	s.buf.WriteByte('\n')
	return nil
}

func (s *stderrSink) contains(sub string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Contains(s.buf.String(), sub)
}

func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// newEnv returns the imports of one instance over in-memory storage.
func newEnv() (*imports.Env, *storage.MemRecords) {
	records := storage.NewMemRecords(nil)
	return imports.NewEnv(&imports.Backend{
		Records: records,
		Files:   storage.NewMemFiles(nil),
		Random:  rand.Reader,
		Clock:   func() time.Time { return time.Unix(1795000000, 0) },
		Logger:  quiet,
	}), records
}

// compiled keeps every module compiled by this test binary: compiling the
// Go-built modules takes seconds (more under -race), so each (module,
// engine) is compiled once, different ones concurrently. They are never
// closed; the process ends.
var compiled sync.Map // key string -> *compiledModule

type compiledModule struct {
	once   sync.Once
	mod    *wazero.Module
	err    error
	stderr *stderrSink
}

func compile(tb testing.TB, path string, interp bool) *compiledModule {
	tb.Helper()
	v, _ := compiled.LoadOrStore(fmt.Sprint(path, interp), &compiledModule{stderr: &stderrSink{}})
	m := v.(*compiledModule)
	m.once.Do(func() {
		var wasm []byte
		if wasm, m.err = os.ReadFile(path); m.err == nil {
			m.mod, m.err = wazero.Compile(context.Background(), wasm, interp, engine.Options{MemoryLimit: 32 << 20}, slog.New(m.stderr))
		}
	})
	if m.err != nil {
		tb.Fatalf("compile %s (interp %v): %v", path, interp, m.err)
	}
	return m
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

// TestEcho runs the real module's echo exchange on both engines, several
// times on one instance.
func TestEcho(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			mod := compile(t, wasmtest.Path(t), e.interp).mod
			env, _ := newEnv()
			inst, err := mod.Instantiate(env, echoConfig)
			if err != nil {
				t.Fatal(err)
			}
			defer inst.Close()
			resp := make([]byte, abi.ResponseCap)
			for range 3 {
				n, err := engine.Serve(inst, env, echoConfig, unhex(t, echoRequest), resp)
				if err != nil {
					t.Fatal(err)
				}
				checkEcho(t, resp[:n])
			}
			// Shorter than a header: no answer, and the instance goes on.
			if n, err := engine.Serve(inst, env, echoConfig, make([]byte, 31), resp); err != nil || n != 0 {
				t.Fatalf("31-byte request: n %d err %v, want 0 nil", n, err)
			}
			n, err := engine.Serve(inst, env, echoConfig, unhex(t, echoRequest), resp)
			if err != nil {
				t.Fatal(err)
			}
			checkEcho(t, resp[:n])
		})
	}
}

// Hand-assembled WebAssembly binaries for the load-time checks. A section
// is its id, its size in bytes (below 128 here, so one LEB128 byte) and
// its contents; a name is its length, then its UTF-8 bytes.
var (
	wasmHeader = []byte{
		0x00, 'a', 's', 'm', // magic "\0asm"
		0x01, 0x00, 0x00, 0x00, // version 1
	}
	i32 = byte(abi.I32) // 0x7f
)

func section(id byte, contents ...byte) []byte {
	if len(contents) >= 128 {
		panic("section too long for a one-byte size")
	}
	return append([]byte{id, byte(len(contents))}, contents...)
}

func name(s string) []byte { return append([]byte{byte(len(s))}, s...) }

func module(sections ...[]byte) []byte {
	return bytes.Join(append([][]byte{wasmHeader}, sections...), nil)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// Section ids and other codes of the binary format.
const (
	secType     = 1
	secImport   = 2
	secFunction = 3
	secMemory   = 5
	secExport   = 7
	secCode     = 10

	funcType   = 0x60 // a function type follows: params, results
	kindFunc   = 0x00 // import/export of a function
	kindMemory = 0x02 // export of a memory
	opEnd      = 0x0b
)

// allExports are the export problems of a module that exports nothing.
var allExports = []string{
	"does not export function _initialize",
	"does not export function raidakx_abi_version",
	"does not export function raidakx_configure",
	"does not export function raidakx_handle",
	"does not export function raidakx_request_buffer",
	"does not export function raidakx_response_buffer",
	"does not export memory",
}

// TestABIRefused compiles modules that do not implement the ABI: Compile
// refuses each with an *engine.ABIError that lists every problem.
func TestABIRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		wasm []byte
		want []string // every problem, in order
	}{{
		name: "empty module",
		wasm: module(), // the header alone
		want: allExports,
	}, {
		name: "random with a wrong signature",
		wasm: module(
			// type 0: (i32) -> (i32); random is (i32, i32) -> (i32)
			section(secType, 1, funcType, 1, i32, 1, i32),
			// import "raidakx" "random" as a function of type 0
			section(secImport, cat([]byte{1}, name("raidakx"), name("random"), []byte{kindFunc, 0})...),
		),
		want: append([]string{"imports raidakx.random as (i32) -> (i32), want (i32, i32) -> (i32)"}, allExports...),
	}, {
		name: "import from env, wrong export",
		wasm: module(
			// type 0: () -> ()
			section(secType, 1, funcType, 0, 0),
			// import "env" "abort" as function 0, of type 0
			section(secImport, cat([]byte{1}, name("env"), name("abort"), []byte{kindFunc, 0})...),
			// function 1 has type 0
			section(secFunction, 1, 0),
			// memory 0: no maximum, 1 page
			section(secMemory, 1, 0x00, 1),
			// export memory 0 as "memory", function 1 as
			// "raidakx_abi_version" (which should return an i32)
			section(secExport, cat([]byte{2},
				name("memory"), []byte{kindMemory, 0},
				name("raidakx_abi_version"), []byte{kindFunc, 1})...),
			// function 1's body: 2 bytes, no locals, end
			section(secCode, 1, 2, 0, opEnd),
		),
		want: []string{
			"imports env.abort from a module this host does not provide",
			"does not export function _initialize",
			"exports raidakx_abi_version as () -> (), want () -> (i32)",
			"does not export function raidakx_configure",
			"does not export function raidakx_handle",
			"does not export function raidakx_request_buffer",
			"does not export function raidakx_response_buffer",
		},
	}} {
		for _, e := range engines {
			t.Run(tc.name+"/"+e.name, func(t *testing.T) {
				mod, err := wazero.Compile(context.Background(), tc.wasm, e.interp, engine.Options{}, quiet)
				if err == nil {
					mod.Close()
					t.Fatal("module accepted")
				}
				var abiErr *engine.ABIError
				if !errors.As(err, &abiErr) {
					t.Fatalf("Compile: %v, want an *engine.ABIError", err)
				}
				if !slicesEqual(abiErr.Problems, tc.want) {
					t.Errorf("problems:\n  %s\nwant:\n  %s", strings.Join(abiErr.Problems, "\n  "), strings.Join(tc.want, "\n  "))
				}
				if !strings.HasPrefix(err.Error(), fmt.Sprintf("module does not implement raidakx ABI v%d:\n  ", abi.Version)) {
					t.Errorf("error text %q", err)
				}
				for _, w := range tc.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
			})
		}
	}
}

func slicesEqual(a, b []string) bool {
	return strings.Join(a, "\x00") == strings.Join(b, "\x00")
}

// TestFaultyHealthy checks the faulty module itself: it imports every
// raidakx function of abi.Imports like the real module, and its healthy
// behaviours answer on both engines.
func TestFaultyHealthy(t *testing.T) {
	wasm, err := os.ReadFile(wasmtest.FaultyPath(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rt := tz.NewRuntime(ctx)
	defer rt.Close(ctx)
	cm, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range cm.ImportedFunctions() {
		if mod, name, _ := d.Import(); mod == abi.ImportModule {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	if want := slices.Sorted(maps.Keys(abi.Imports)); !slices.Equal(names, want) {
		t.Errorf("raidakx imports %v, want %v", names, want)
	}

	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			m := compile(t, wasmtest.FaultyPath(t), e.interp)
			files := storage.NewMemFiles(nil)
			env := imports.NewEnv(&imports.Backend{Records: storage.NewMemRecords(nil), Files: files, Random: rand.Reader, Clock: time.Now, Logger: quiet})
			inst, err := m.mod.Instantiate(env, echoConfig)
			if err != nil {
				t.Fatal(err)
			}
			defer inst.Close()
			resp := make([]byte, abi.ResponseCap)
			want := make([]byte, abi.ResponseCap)
			for _, req := range [][]byte{
				wasmtest.FaultyRequest(echoConfig, wasmtest.FaultyEcho, 1),
				wasmtest.FaultyDenRequest(echoConfig, wasmtest.FaultySlow, 2, 1000),
				wasmtest.FaultyRequest(echoConfig, wasmtest.FaultyAllImports, 3),
			} {
				n, err := engine.Serve(inst, env, echoConfig, req, resp)
				wn := wasmtest.FaultyAnswer(want, req, echoConfig.RaidaID)
				if err != nil || !bytes.Equal(resp[:n], want[:wn]) {
					t.Errorf("behaviour %d: %x %v, want %x", req[abi.OffCommand], resp[:n], err, want[:wn])
				}
			}
			if got := files.Snapshot()["Keys/faulty.txt"]; string(got) != "faulty file" {
				t.Errorf("Keys/faulty.txt = %q", got)
			}
			// An unknown command is answered 6 INVALID_COMMAND.
			req := wasmtest.FaultyRequest(echoConfig, 200, 4)
			n, err := engine.Serve(inst, env, echoConfig, req, resp)
			if err != nil || n != abi.HeaderSize || abi.Status(resp[abi.OffRespStatus]) != abi.StatusInvalidCommand {
				t.Errorf("command 200: %x %v", resp[:n], err)
			}
		})
	}
}

// TestFaults runs every fault behaviour of the faulty module on both
// engines. Each time engine.Serve reports the failure, the answer is
// exactly abi.PutInternalError's 252 packet, the instance's Env holds no
// lock, and the page the module used can be locked by someone else.
func TestFaults(t *testing.T) {
	for _, e := range engines {
		for _, tc := range []struct {
			behaviour byte
			check     func(t *testing.T, err error, stderr *stderrSink, records *storage.MemRecords)
		}{
			{wasmtest.FaultyPanic, func(t *testing.T, err error, stderr *stderrSink, _ *storage.MemRecords) {
				wantGoCrash(t, err)
				wantPrinted(t, stderr, "faulty: behaviour 1, a Go panic")
			}},
			{wasmtest.FaultyTrap, func(t *testing.T, err error, _ *stderrSink, _ *storage.MemRecords) {
				if !strings.Contains(err.Error(), "out of bounds memory access") {
					t.Errorf("error %q, want an out-of-bounds trap", err)
				}
				var exit *sys.ExitError
				if errors.As(err, &exit) {
					t.Errorf("error %v is an exit: the Go runtime handled the fault", err)
				}
			}},
			{wasmtest.FaultyLoop, func(t *testing.T, err error, _ *stderrSink, _ *storage.MemRecords) {
				wantExit(t, err, sys.ExitCodeContextCanceled)
			}},
			{wasmtest.FaultyOutOfMemory, func(t *testing.T, err error, stderr *stderrSink, _ *storage.MemRecords) {
				wantGoCrash(t, err)
				wantPrinted(t, stderr, "out of memory")
			}},
			{wasmtest.FaultyPanicLocked, func(t *testing.T, err error, stderr *stderrSink, _ *storage.MemRecords) {
				wantGoCrash(t, err)
				wantPrinted(t, stderr, "faulty: behaviour 5")
			}},
			{wasmtest.FaultyBadPointer, func(t *testing.T, err error, _ *stderrSink, _ *storage.MemRecords) {
				wantFault(t, err, "pointer 0xfffffff0 length 17 outside memory")
			}},
			{wasmtest.FaultyWriteThenDie, func(t *testing.T, err error, stderr *stderrSink, records *storage.MemRecords) {
				wantGoCrash(t, err)
				wantPrinted(t, stderr, "faulty: behaviour 7")
				// ABI section 6: a write done before the trap stays done.
				got, ok := records.Snapshot()[storage.RecordKey{Den: wasmtest.FaultyDen, SN: wasmtest.FaultySN}]
				if !ok || got != wasmtest.FaultyRecord {
					t.Errorf("record (1, 7) = %x (present %v), want %x", got, ok, wasmtest.FaultyRecord)
				}
			}},
			{wasmtest.FaultyKeepLock, func(t *testing.T, err error, _ *stderrSink, _ *storage.MemRecords) {
				wantFault(t, err, "returned holding a page lock")
			}},
			{wasmtest.FaultyShortAnswer, func(t *testing.T, err error, _ *stderrSink, _ *storage.MemRecords) {
				wantFault(t, err, "returned a 5-byte response")
			}},
		} {
			t.Run(fmt.Sprintf("%s/%d", e.name, tc.behaviour), func(t *testing.T) {
				t.Parallel()
				m := compile(t, wasmtest.FaultyPath(t), e.interp)
				env, records := newEnv()
				inst, err := m.mod.Instantiate(env, echoConfig)
				if err != nil {
					t.Fatal(err)
				}
				defer inst.Close()
				resp := make([]byte, abi.ResponseCap)

				// The instance is healthy: behaviour 0 answers 250.
				req := wasmtest.FaultyRequest(echoConfig, wasmtest.FaultyEcho, 0x1234)
				want := make([]byte, abi.ResponseCap)
				n, err := engine.Serve(inst, env, echoConfig, req, resp)
				if wn := wasmtest.FaultyAnswer(want, req, echoConfig.RaidaID); err != nil || !bytes.Equal(resp[:n], want[:wn]) {
					t.Fatalf("behaviour 0: %x %v, want %x", resp[:n], err, want[:wn])
				}

				req = wasmtest.FaultyRequest(echoConfig, tc.behaviour, 0xbeef)
				if tc.behaviour == wasmtest.FaultyLoop {
					time.AfterFunc(100*time.Millisecond, inst.Interrupt)
				}
				start := time.Now()
				n, err = serveWithin(t, inst, env, req, resp, 30*time.Second)
				t.Logf("after %v: %v", time.Since(start).Round(time.Millisecond), firstLine(err))
				if err == nil {
					t.Fatalf("Serve succeeded: %x", resp[:n])
				}
				want = make([]byte, abi.ResponseCap)
				wn := abi.PutInternalError(want, req, echoConfig.RaidaID)
				if wn != abi.HeaderSize || !bytes.Equal(resp[:n], want[:wn]) || resp[abi.OffRespStatus] != byte(abi.StatusInternal) {
					t.Errorf("answer %x, want %x (252)", resp[:n], want[:wn])
				}
				if tc.behaviour == wasmtest.FaultyLoop && time.Since(start) < 100*time.Millisecond {
					t.Errorf("loop ended after %v, before the interrupt", time.Since(start))
				}
				if env.Locked() {
					t.Error("Env still holds a page lock")
				}
				wantUnlocked(t, records, wasmtest.FaultyDen, wasmtest.FaultyPage)
				tc.check(t, err, m.stderr, records)
			})
		}
	}
}

// TestImportDen misuses page_unlock, page_lock and record_read with dens
// that no page lock can be held for. ABI section 4: page_unlock traps
// unless the instance holds exactly that page (it has no errno), page_lock
// traps when a lock is already held, a pointer outside memory traps, and a
// trap condition is checked before any errno condition. So every case must
// trap and be answered 252, whatever the den: inside int8 but outside
// -8..6 (100) or outside int8 (1000, -129), which must not be taken as a
// den nor answered ErrNoRecord before the trap checks.
func TestImportDen(t *testing.T) {
	for _, e := range engines {
		for _, tc := range []struct {
			behaviour byte
			den       int32
			reason    string // in the Fault
		}{
			{wasmtest.FaultyUnlockDen, 100, "page_unlock(100, 0) of a page not held"},
			{wasmtest.FaultyUnlockDen, 1000, "page_unlock(1000, 0) of a page not held"},
			{wasmtest.FaultyUnlockDen, -129, "page_unlock(-129, 0) of a page not held"},
			{wasmtest.FaultySecondLockDen, 100, "page_lock(100, 0) while holding (1, 0)"},
			{wasmtest.FaultySecondLockDen, 1000, "page_lock(1000, 0) while holding (1, 0)"},
			{wasmtest.FaultyBadPointerDen, 100, "pointer 0xfffffff0 length 17 outside memory"},
			{wasmtest.FaultyBadPointerDen, 1000, "pointer 0xfffffff0 length 17 outside memory"},
		} {
			t.Run(fmt.Sprintf("%s/%d/den%d", e.name, tc.behaviour, tc.den), func(t *testing.T) {
				m := compile(t, wasmtest.FaultyPath(t), e.interp)
				env, records := newEnv()
				inst, err := m.mod.Instantiate(env, echoConfig)
				if err != nil {
					t.Fatal(err)
				}
				defer inst.Close()
				req := wasmtest.FaultyDenRequest(echoConfig, tc.behaviour, 0x5150, tc.den)
				resp := make([]byte, abi.ResponseCap)
				n, err := serveWithin(t, inst, env, req, resp, 30*time.Second)
				if err == nil {
					t.Fatalf("no trap: the import returned %d (answer %x)", int32(binary.BigEndian.Uint32(resp[abi.OffRespChallenge:])), resp[:n])
				}
				wantFault(t, err, tc.reason)
				want := make([]byte, abi.ResponseCap)
				if wn := abi.PutInternalError(want, req, echoConfig.RaidaID); !bytes.Equal(resp[:n], want[:wn]) {
					t.Errorf("answer %x, want %x (252)", resp[:n], want[:wn])
				}
				if env.Locked() {
					t.Error("Env still holds a page lock")
				}
				wantUnlocked(t, records, wasmtest.FaultyDen, wasmtest.FaultyPage)
			})
		}
	}
}

// TestCryptoImports runs the faulty module's crypto behaviours (ABI.md
// section 4, "Crypto primitives"). A key length other than 16 or 32, a
// length over abi.MaxCryptoLen and a region outside memory each trap with
// the Fault that names them, and the request is answered 252 like
// TestImportDen's; valid calls answer with the import's output, which must
// be the standards' (NIST SP 800-38A F.5) or, for sha256 of the module's
// own memory, the digest of that memory read through the runtime.
func TestCryptoImports(t *testing.T) {
	for _, e := range engines {
		for _, tc := range wasmtest.FaultyCryptoCases() {
			t.Run(fmt.Sprintf("%s/%d/D%d", e.name, tc.Behaviour, tc.D), func(t *testing.T) {
				m := compile(t, wasmtest.FaultyPath(t), e.interp)
				env, _ := newEnv()
				inst, err := m.mod.Instantiate(env, echoConfig)
				if err != nil {
					t.Fatal(err)
				}
				defer inst.Close()
				req := wasmtest.FaultyDenRequest(echoConfig, tc.Behaviour, 0x5150, tc.D)
				resp := make([]byte, abi.ResponseCap)
				before := bytes.Clone(wazero.Memory(inst)[:100])
				n, err := serveWithin(t, inst, env, req, resp, 30*time.Second)
				want := make([]byte, abi.ResponseCap)
				if tc.Reason != "" {
					if err == nil {
						t.Fatalf("no trap (answer %x)", resp[:n])
					}
					wantFault(t, err, tc.Reason)
					if wn := abi.PutInternalError(want, req, echoConfig.RaidaID); !bytes.Equal(resp[:n], want[:wn]) {
						t.Errorf("answer %x, want %x (252)", resp[:n], want[:wn])
					}
					return
				}
				if err != nil {
					t.Fatalf("trap: %v", firstLine(err))
				}
				wn := wasmtest.FaultyAnswer(want, req, echoConfig.RaidaID)
				if tc.Challenge == nil {
					copy(want[abi.OffRespChallenge:abi.OffRespChallenge+4], resp[abi.OffRespChallenge:]) // any output
				} else {
					mem := wazero.Memory(inst)
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
}

// serveWithin runs engine.Serve and fails the test if it has not returned
// after d.
func serveWithin(t *testing.T, inst engine.Instance, env *imports.Env, req, resp []byte, d time.Duration) (int, error) {
	t.Helper()
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := engine.Serve(inst, env, echoConfig, req, resp)
		done <- result{n, err}
	}()
	select {
	case r := <-done:
		return r.n, r.err
	case <-time.After(d):
		t.Fatalf("Serve still running after %v", d)
		return 0, nil
	}
}

// wantUnlocked fails unless another goroutine can take the lock of (den,
// page) within 5 s.
func wantUnlocked(t *testing.T, records *storage.MemRecords, den int8, page uint32) {
	t.Helper()
	locked := make(chan error, 1)
	go func() {
		err := records.Lock(den, page)
		if err == nil {
			records.Unlock(den, page)
		}
		locked <- err
	}()
	select {
	case err := <-locked:
		if err != nil {
			t.Errorf("Lock(%d, %d): %v", den, page, err)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("page (%d, %d) is still locked", den, page)
	}
}

// wantGoCrash checks that the Go runtime in the module died: in a
// c-shared build a fatal panic or throw prints its message on stderr, then
// aborts with the unreachable instruction (GOTRACEBACK=crash) instead of
// calling proc_exit.
func wantGoCrash(t *testing.T, err error) {
	t.Helper()
	if !strings.Contains(err.Error(), "wasm error: unreachable") {
		t.Errorf("error %v, want the Go runtime's abort (unreachable)", firstLine(err))
	}
}

func wantExit(t *testing.T, err error, code uint32) {
	t.Helper()
	var exit *sys.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != code {
		t.Errorf("error %v, want an exit with code %d", firstLine(err), code)
	}
}

func wantFault(t *testing.T, err error, reason string) {
	t.Helper()
	var fault *imports.Fault
	if !errors.As(err, &fault) || !strings.Contains(fault.Reason, reason) {
		t.Errorf("error %v, want an *imports.Fault saying %q", firstLine(err), reason)
	}
}

func wantPrinted(t *testing.T, stderr *stderrSink, text string) {
	t.Helper()
	if !stderr.contains(text) {
		t.Errorf("the module did not print %q on stderr", text)
	}
}

func firstLine(err error) string {
	if err == nil {
		return "<nil>"
	}
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// BenchmarkHandleEcho measures one echo exchange of the real module
// through engine.Serve.
func BenchmarkHandleEcho(b *testing.B) {
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			mod := compile(b, wasmtest.Path(b), e.interp).mod
			env, _ := newEnv()
			inst, err := mod.Instantiate(env, echoConfig)
			if err != nil {
				b.Fatal(err)
			}
			defer inst.Close()
			req := unhex(b, echoRequest)
			resp := make([]byte, abi.ResponseCap)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := engine.Serve(inst, env, echoConfig, req, resp); err != nil {
					b.Fatal(err)
				}
			}
			checkEcho(b, resp[:abi.HeaderSize])
		})
	}
}

// TestCompilationCache: compiled code is kept under the cache folder in a
// folder per module, named by the module's SHA-256, so that two modules
// (here the faulty module and the same with a custom section appended,
// which changes its bytes and not its code) never share an entry; a
// second compile loads from it; a folder others can write is refused.
func TestCompilationCache(t *testing.T) {
	faulty, err := os.ReadFile(wasmtest.FaultyPath(t))
	if err != nil {
		t.Fatal(err)
	}
	// Custom section (id 0), 6 bytes: the name "note" (4 bytes with its
	// length) and one byte of content.
	other := cat(faulty, section(0, cat(name("note"), []byte{1})...))
	dir := t.TempDir()
	for _, wasm := range [][]byte{faulty, other, faulty} {
		mod, err := wazero.Compile(context.Background(), wasm, false, engine.Options{MemoryLimit: 32 << 20, CacheDir: dir}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		mod.Close()
	}
	folders, err := os.ReadDir(filepath.Join(dir, "wazero"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range folders {
		names = append(names, f.Name())
		// wazero keeps its entries in a folder of its own version.
		entries, _ := filepath.Glob(filepath.Join(dir, "wazero", f.Name(), "wazero-*", "*"))
		if len(entries) == 0 {
			t.Errorf("module %s: no cache entry", f.Name())
		}
	}
	a, b := sha256.Sum256(faulty), sha256.Sum256(other)
	if want := []string{hex.EncodeToString(a[:]), hex.EncodeToString(b[:])}; !slices.Equal(names, slices.Sorted(slices.Values(want))) {
		t.Errorf("cache folders %q, want %q", names, want)
	}

	open := t.TempDir()
	if err := os.Chmod(open, 0o770); err != nil {
		t.Fatal(err)
	}
	if _, err := wazero.Compile(context.Background(), faulty, false, engine.Options{CacheDir: open}, nil); !errors.Is(err, engine.ErrUntrustedCache) {
		t.Errorf("group-writable cache: error %v, want engine.ErrUntrustedCache", err)
	}
}
