//go:build cgo

// Package wasmtime runs the key-exchange module under Wasmtime, through
// its C API (github.com/bytecodealliance/wasmtime-go), so it needs cgo.
//
// # One wasmtime.Engine per instance
//
// Interrupt must stop one running call and leave every other instance
// alone. The only interruption that wasmtime-go exposes is the epoch: code
// compiled with SetEpochInterruption traps once the engine's epoch passes
// its store's deadline. But the epoch belongs to the Engine, and
// IncrementEpoch reaches every store of that Engine: with one shared Engine,
// interrupting instance A would also trap instance B if B were running at
// that moment, or the next time B runs if its deadline were already due.
// Setting a store's deadline only while it runs does not help, because
// several instances do run at once on different goroutines. Wasmtime's way
// out, a per-store deadline callback that can let the store go on, is
// not exposed by wasmtime-go.
//
// So every Instance has an Engine of its own, made from the same Config,
// into which the module compiled once by Compile is loaded: not compiled
// again, but mapped from a file (the cache file, or a temporary copy), so
// that loading takes a fraction of a millisecond and every engine shares
// the code's pages. The store's deadline is set once to epoch 1, and
// Interrupt moves that engine, and only it, to epoch 1. The cost is the
// engine, the mapping and a linker per instance: about 0.5 ms, far less
// than the Go runtime's start-up in the module.
//
// wasmtime-go's threading rules: a Store must not be used by two threads
// at once. Each Instance has its own store, and a mutex serializes its
// instantiation, Handle and Close; Interrupt only touches the engine,
// whose IncrementEpoch is safe from any goroutine. Module.Close interrupts
// its instances and waits for each before freeing it.
//
// Handle calls raidakx_handle through wasmtime's C API directly (call.go):
// one cgo call and no allocation, where wasmtime-go's Func.Call costs about
// a dozen cgo calls and eight allocations.
package wasmtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/engine"
	"github.com/raidakx/raidakx/host/imports"
)

// Version is the wasmtime-go release this package is built against. It
// names the cache folder: compiled code only loads into the same release.
const Version = "v39.0.1"

// ErrInterrupted is wrapped by the error of a call stopped by Interrupt.
var ErrInterrupted = errors.New("wasmtime: instance interrupted")

// ErrClosed is returned by a closed Module or Instance.
var ErrClosed = errors.New("wasmtime: closed")

// newConfig returns the configuration of every engine. Compiled code only
// loads into an engine configured the same way, so this is the only place
// that makes one.
func newConfig() *wasmtime.Config {
	cfg := wasmtime.NewConfig()
	cfg.SetEpochInterruption(true)
	return cfg
}

// Module is the compiled module, serialized so that each instance's engine
// can load it.
type Module struct {
	logger   *slog.Logger
	memLimit int64
	// artifact is the compiled module as Module.Serialize gives it, and
	// codeFile the same bytes in a file: an engine maps a file in a
	// fraction of a millisecond, and shares its pages with the others,
	// where loading the bytes copies them (8 MB, 7 ms). codeFile is the
	// cache file, or a temporary file kept open in tmp (unlinked at once
	// where the system lets us name it through /proc/self/fd).
	artifact  []byte
	codeFile  string
	cacheFile string
	tmp       *os.File
	stderr    *stderrSink

	mu        sync.Mutex
	instances map[*Instance]struct{}
	closed    bool
}

// Compile compiles wasm, checks it against the ABI (imports, exports,
// signatures and version) and returns it ready to instantiate. With
// opts.CacheDir set, the compiled code is kept there between runs, in the
// module's folder (engine.ModuleCacheDir, which refuses a folder others
// could write: its files are loaded as machine code).
func Compile(ctx context.Context, wasm []byte, opts engine.Options, logger *slog.Logger) (*Module, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if layoutErr != nil {
		return nil, layoutErr
	}
	if logger == nil {
		logger = slog.Default()
	}
	m := &Module{
		logger:    logger,
		memLimit:  int64(opts.MemoryLimitPages()) * 65536,
		instances: map[*Instance]struct{}{},
	}
	eng := wasmtime.NewEngineWithConfig(newConfig())
	defer eng.Close()
	compiled, err := m.load(eng, wasm, opts.CacheDir)
	if err != nil {
		return nil, err
	}
	defer compiled.Close()
	if err := checkABI(compiled); err != nil {
		return nil, err
	}
	m.codeFile = m.cacheFile
	if m.codeFile == "" {
		m.tmp, m.codeFile = tempCodeFile(m.artifact)
	}
	m.stderr = newStderrSink(logger)
	// The version is only known once running: instantiate once to ask.
	probe, err := m.instantiate(imports.NewEnv(&imports.Backend{Logger: logger}), nil)
	if err != nil {
		m.Close()
		return nil, err
	}
	probe.Close()
	return m, nil
}

// load compiles wasm in eng, or loads it from the cache, and sets
// m.artifact (and m.cacheFile when the cache works).
func (m *Module) load(eng *wasmtime.Engine, wasm []byte, cacheDir string) (*wasmtime.Module, error) {
	var path string
	if cacheDir != "" {
		dir, err := engine.ModuleCacheDir(cacheDir, "wasmtime", wasm)
		if err != nil {
			return nil, err
		}
		path = filepath.Join(dir, "wasmtime-"+Version+"-"+runtime.GOOS+"-"+runtime.GOARCH+".cwasm")
		if artifact, err := os.ReadFile(path); err == nil {
			if compiled, err := wasmtime.NewModuleDeserialize(eng, artifact); err == nil {
				m.artifact, m.cacheFile = artifact, path
				return compiled, nil
			}
			m.logger.Warn("wasmtime: replacing unusable cache file", "path", path)
		}
	}
	compiled, err := wasmtime.NewModule(eng, wasm)
	if err != nil {
		return nil, fmt.Errorf("compile module: %w", err)
	}
	if m.artifact, err = compiled.Serialize(); err != nil {
		compiled.Close()
		return nil, fmt.Errorf("serialize module: %w", err)
	}
	if path != "" {
		if err := writeFileAtomic(path, m.artifact); err != nil {
			m.logger.Warn("wasmtime: cannot write cache file", "path", path, "err", err)
		} else {
			m.cacheFile = path
		}
	}
	return compiled, nil
}

func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err2 := f.Close(); err == nil {
		err = err2
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// tempCodeFile writes the compiled module to a temporary file and returns
// it, open, with the path to load it by; nil and "" when it cannot. On
// Linux the file is unlinked at once and named through /proc/self/fd, so
// that nothing is left behind, whatever happens to the process.
func tempCodeFile(artifact []byte) (*os.File, string) {
	f, err := os.CreateTemp("", "raidakx-wasmtime-*.cwasm")
	if err != nil {
		return nil, ""
	}
	if _, err := f.Write(artifact); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, ""
	}
	if runtime.GOOS == "linux" {
		path := fmt.Sprintf("/proc/self/fd/%d", f.Fd())
		if _, err := os.Stat(path); err == nil {
			os.Remove(f.Name())
			return f, path
		}
	}
	return f, f.Name()
}

// checkABI runs engine.CheckABI on the module's imports and exports.
func checkABI(mod *wasmtime.Module) error {
	var imps, exps []engine.FuncDef
	var others []string // memory, table and global imports: the ABI has none
	for _, it := range mod.Imports() {
		name := ""
		if n := it.Name(); n != nil {
			name = *n
		}
		if ft := it.Type().FuncType(); ft != nil {
			imps = append(imps, funcDef(it.Module(), name, ft))
		} else {
			others = append(others, it.Module()+"."+name)
		}
	}
	hasMemory := false
	for _, et := range mod.Exports() {
		ty := et.Type()
		if ft := ty.FuncType(); ft != nil {
			exps = append(exps, funcDef("", et.Name(), ft))
		} else if et.Name() == abi.ExportMemory && ty.MemoryType() != nil {
			hasMemory = true
		}
	}
	return engine.CheckABI(imps, exps, others, hasMemory)
}

func funcDef(module, name string, ft *wasmtime.FuncType) engine.FuncDef {
	return engine.FuncDef{Module: module, Name: name, Params: valueTypes(ft.Params()), Results: valueTypes(ft.Results())}
}

// valueTypes converts Wasmtime's value kinds to their binary encoding,
// which is what abi.ValueType holds.
func valueTypes(ts []*wasmtime.ValType) []abi.ValueType {
	out := make([]abi.ValueType, len(ts))
	for i, t := range ts {
		switch t.Kind() {
		case wasmtime.KindI32:
			out[i] = abi.I32
		case wasmtime.KindI64:
			out[i] = abi.I64
		case wasmtime.KindF32:
			out[i] = 0x7d
		case wasmtime.KindF64:
			out[i] = 0x7c
		case wasmtime.KindFuncref:
			out[i] = 0x70
		case wasmtime.KindExternref:
			out[i] = 0x6f
		default:
			out[i] = abi.ValueType(t.Kind())
		}
	}
	return out
}

// Close implements engine.Module. It interrupts and closes every instance
// still open (waiting for the ones being made), then the files they load.
func (m *Module) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	open := make([]*Instance, 0, len(m.instances))
	for i := range m.instances {
		open = append(open, i)
	}
	m.mu.Unlock()
	for _, i := range open {
		i.Close()
	}
	// No instance is left to open these files by name.
	m.stderr.Close()
	if m.tmp != nil {
		m.tmp.Close()
		if m.codeFile == m.tmp.Name() {
			os.Remove(m.tmp.Name())
		}
	}
	return nil
}

// Instance is one instance of the module, with the engine and store it
// alone uses.
type Instance struct {
	m      *Module
	host   *hostState // what the imports use; no pointer back to the store
	funcs  *wasmtime.Instance
	handle *wasmtime.Func
	mem    *wasmtime.Memory

	// mu serializes the use of the store: instantiation, Handle, Close.
	mu          sync.Mutex
	store       *wasmtime.Store
	module      *wasmtime.Module
	linker      *wasmtime.Linker
	broken      error // set once a call failed: the instance is unusable
	reqPtr      uint32
	respPtr     uint32
	interrupted atomic.Bool

	// ctl guards engine against Interrupt racing Close.
	ctl    sync.Mutex
	engine *wasmtime.Engine
}

// Instantiate implements engine.Module.
func (m *Module) Instantiate(env *imports.Env, cfg abi.Config) (engine.Instance, error) {
	inst, err := m.instantiate(env, &cfg)
	if err != nil {
		return nil, err
	}
	return inst, nil
}

// instantiate makes an instance, checks its ABI version and, unless cfg is
// nil, configures it.
func (m *Module) instantiate(env *imports.Env, cfg *abi.Config) (*Instance, error) {
	inst := &Instance{m: m, host: &hostState{env: env}}
	// Held until the instance is made, so that a Module.Close meanwhile
	// interrupts and waits for it rather than freeing what it uses.
	inst.mu.Lock()
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		inst.mu.Unlock()
		return nil, ErrClosed
	}
	m.instances[inst] = struct{}{}
	m.mu.Unlock()
	err := inst.init(cfg)
	inst.mu.Unlock()
	if err != nil {
		inst.Close()
		return nil, err
	}
	return inst, nil
}

func (i *Instance) init(cfg *abi.Config) (err error) {
	m := i.m
	eng := wasmtime.NewEngineWithConfig(newConfig())
	i.ctl.Lock()
	i.engine = eng
	if i.interrupted.Load() { // Interrupt came first and found no engine
		eng.IncrementEpoch()
	}
	i.ctl.Unlock()
	if m.codeFile != "" {
		i.module, err = wasmtime.NewModuleDeserializeFile(eng, m.codeFile)
	}
	if i.module == nil {
		i.module, err = wasmtime.NewModuleDeserialize(eng, m.artifact)
	}
	if err != nil {
		return fmt.Errorf("load compiled module: %w", err)
	}
	i.linker = wasmtime.NewLinker(eng)
	if err := i.linker.DefineWasi(); err != nil {
		return fmt.Errorf("define WASI: %w", err)
	}
	if err := defineImports(i.linker, i.host); err != nil {
		return fmt.Errorf("define imports: %w", err)
	}
	i.store = wasmtime.NewStore(eng)
	i.store.Limiter(m.memLimit, -1, -1, -1, -1)
	// The engine's epoch is 0 until Interrupt moves it to 1.
	i.store.SetEpochDeadline(1)
	// No preopens, environment or arguments: the module's only window is
	// the raidakx imports. Wasmtime's WASI clocks and random source are the
	// real ones. Stdout goes nowhere; stderr (a Go panic's trace) to the
	// log when the platform lets us name a pipe.
	wasi := wasmtime.NewWasiConfig()
	if path := m.stderr.Path(); path != "" {
		if err := wasi.SetStderrFile(path); err != nil {
			m.logger.Debug("wasmtime: module stderr not captured", "err", err)
		}
	}
	i.store.SetWasi(wasi)

	wi, err := i.linker.Instantiate(i.store, i.module)
	if err != nil {
		return fmt.Errorf("instantiate module: %w", err)
	}
	if ext := wi.GetExport(i.store, abi.ExportMemory); ext != nil {
		i.mem = ext.Memory()
	}
	i.handle = wi.GetFunc(i.store, abi.ExportHandle)
	if i.mem == nil || i.handle == nil {
		return errors.New("instantiate module: memory or raidakx_handle missing")
	}
	i.host.mem = i.mem
	i.funcs = wi
	if i.host.fast, err = newFastCall(i.store, i.handle, i.mem); err != nil {
		return err
	}
	if _, err := i.call(abi.ExportInitialize); err != nil {
		return err
	}
	version, err := i.call(abi.ExportABIVersion)
	if err != nil {
		return err
	}
	if err := engine.CheckVersion(version); err != nil {
		return err
	}
	ptr, err := i.call(abi.ExportRequestBuffer)
	if err != nil {
		return err
	}
	i.reqPtr = uint32(ptr)
	if ptr, err = i.call(abi.ExportResponseBuffer); err != nil {
		return err
	}
	i.respPtr = uint32(ptr)
	size := uint64(i.mem.DataSize(i.store))
	if uint64(i.reqPtr)+abi.RequestCap > size {
		return errors.New("module's request buffer lies outside its memory")
	}
	if uint64(i.respPtr)+abi.ResponseCap > size {
		return errors.New("module's response buffer lies outside its memory")
	}
	if cfg == nil {
		return nil
	}
	res, err := i.call(abi.ExportConfigure, int32(cfg.RaidaID), int32(cfg.CoinID))
	if err == nil && abi.Errno(res) != abi.OK {
		err = fmt.Errorf("configure raida_id %d coin_id %d: %w", cfg.RaidaID, cfg.CoinID, abi.Errno(res))
	}
	return err
}

// call calls the export name, which returns at most one i32. The caller
// holds mu.
func (i *Instance) call(name string, args ...any) (int32, error) {
	f := i.funcs.GetFunc(i.store, name)
	if f == nil {
		return 0, fmt.Errorf("no export %s", name)
	}
	res, err := f.Call(i.store, args...)
	if err != nil {
		return 0, i.fail(name, err)
	}
	v, _ := res.(int32)
	return v, nil
}

// fail records why a call failed, makes the instance unusable and returns
// the error to report: it wraps the import's Fault (or other panic) that
// trapped, or ErrInterrupted, and the trap itself.
func (i *Instance) fail(name string, trap error) error {
	err := &callError{fn: name, trap: trap, cause: i.host.takeFault()}
	if err.cause == nil && i.interrupted.Load() {
		err.cause = ErrInterrupted
	}
	i.broken = err
	return err
}

// callError is a trap, or a WASI exit, of an export.
type callError struct {
	fn    string
	cause error // the import fault or ErrInterrupted, if known
	trap  error // Wasmtime's *Trap or *Error, or a *trapError; with the wasm backtrace
}

// Error is the cause when known: Wasmtime's message for a trap raised by
// an import only adds a backtrace to it. The whole trap is in Unwrap.
func (e *callError) Error() string {
	if e.cause != nil {
		return e.fn + ": " + e.cause.Error()
	}
	return e.fn + ": " + e.trap.Error()
}

func (e *callError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.trap}
	}
	return []error{e.cause, e.trap}
}

// Handle implements engine.Instance.
func (i *Instance) Handle(req, resp []byte) (int, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	switch {
	case i.store == nil:
		return 0, ErrClosed
	case i.broken != nil:
		return 0, fmt.Errorf("instance unusable after an earlier failure: %w", i.broken)
	case len(req) > abi.RequestCap:
		return 0, fmt.Errorf("request of %d bytes, more than %d", len(req), abi.RequestCap)
	}
	// Both buffers were checked against memory at instantiation, and
	// memory never shrinks.
	n, terr := i.host.fast.handle(req, resp, i.reqPtr, i.respPtr, abi.ResponseCap)
	if terr != nil {
		return 0, i.fail(abi.ExportHandle, terr)
	}
	if n > abi.ResponseCap {
		i.broken = fmt.Errorf("module returned a %d-byte response, more than %d", n, abi.ResponseCap)
		return 0, i.broken
	}
	return int(min(n, uint32(len(resp)))), nil
}

// Interrupt implements engine.Instance. It moves the instance's own engine
// past the store's deadline: the running call, or the next one, traps at
// its next function entry or loop back-edge. A call waiting in an import
// (page_lock) is stopped once the import returns.
func (i *Instance) Interrupt() {
	i.interrupted.Store(true)
	i.ctl.Lock()
	if i.engine != nil {
		i.engine.IncrementEpoch()
	}
	i.ctl.Unlock()
}

// Close implements engine.Instance. It stops a running call first, so
// that Module.Close may close instances in use on other goroutines.
func (i *Instance) Close() error {
	i.Interrupt()
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.store != nil {
		i.store.Close()
		i.store = nil
	}
	if i.linker != nil {
		i.linker.Close()
		i.linker = nil
	}
	if i.module != nil {
		i.module.Close()
		i.module = nil
	}
	i.ctl.Lock()
	if i.engine != nil {
		i.engine.Close()
		i.engine = nil
	}
	i.ctl.Unlock()
	i.m.mu.Lock()
	delete(i.m.instances, i)
	i.m.mu.Unlock()
	return nil
}
