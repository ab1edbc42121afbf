// Package wazero runs the key-exchange module under wazero, with its
// optimizing compiler ("wazero") or its interpreter ("wazero-interp").
package wazero

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/engine"
	"github.com/raidakx/raidakx/host/imports"
)

// Module is the compiled module with the runtime that owns it.
type Module struct {
	rt       wazero.Runtime
	compiled wazero.CompiledModule
	logger   *slog.Logger
}

// Compile compiles wasm with the compiler, or the interpreter when interp
// is set, checks it against the ABI (imports, exports, signatures and
// version) and returns it ready to instantiate.
func Compile(ctx context.Context, wasm []byte, interp bool, opts engine.Options, logger *slog.Logger) (*Module, error) {
	return compile(ctx, wasm, interp, true, opts, logger)
}

// compile is Compile. With interruptible false, the module is compiled
// without the checks that let Interrupt stop it: only BenchmarkCost does
// that, to measure what the checks cost. A module that loops could then
// never be stopped, and compiled code cannot be preempted, so it would
// also hold up the Go runtime's stop-the-world phases.
func compile(ctx context.Context, wasm []byte, interp, interruptible bool, opts engine.Options, logger *slog.Logger) (*Module, error) {
	rc := wazero.NewRuntimeConfigCompiler()
	if interp {
		rc = wazero.NewRuntimeConfigInterpreter()
	}
	// CloseOnContextDone compiles in the checks that let Interrupt stop a
	// module that loops forever (docs/RATIONALE.md).
	rc = rc.WithMemoryLimitPages(opts.MemoryLimitPages()).WithCloseOnContextDone(interruptible)
	// The interpreter compiles nothing worth keeping.
	if opts.CacheDir != "" && !interp {
		dir, err := engine.ModuleCacheDir(opts.CacheDir, "wazero", wasm)
		if err != nil {
			return nil, err
		}
		cache, err := wazero.NewCompilationCacheWithDir(dir)
		if err != nil {
			return nil, fmt.Errorf("compilation cache %s: %w", dir, err)
		}
		rc = rc.WithCompilationCache(cache)
	}
	if logger == nil {
		logger = slog.Default()
	}
	m := &Module{rt: wazero.NewRuntimeWithConfig(ctx, rc), logger: logger}
	if err := m.load(ctx, wasm); err != nil {
		m.rt.Close(ctx)
		return nil, err
	}
	return m, nil
}

func (m *Module) load(ctx context.Context, wasm []byte) error {
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, m.rt); err != nil {
		return err
	}
	if err := instantiateImports(ctx, m.rt); err != nil {
		return err
	}
	compiled, err := m.rt.CompileModule(ctx, wasm)
	if err != nil {
		return fmt.Errorf("compile module: %w", err)
	}
	m.compiled = compiled
	var imps, exps []engine.FuncDef
	for _, d := range compiled.ImportedFunctions() {
		mod, name, _ := d.Import()
		imps = append(imps, funcDef(mod, name, d))
	}
	for name, d := range compiled.ExportedFunctions() {
		exps = append(exps, funcDef("", name, d))
	}
	var others []string
	for _, d := range compiled.ImportedMemories() {
		mod, name, _ := d.Import()
		others = append(others, mod+"."+name)
	}
	_, hasMemory := compiled.ExportedMemories()[abi.ExportMemory]
	if err := engine.CheckABI(imps, exps, others, hasMemory); err != nil {
		return err
	}
	// The version is only known once running: instantiate once to ask.
	probe, err := m.instantiate(imports.NewEnv(&imports.Backend{Logger: m.logger}))
	if err != nil {
		return err
	}
	defer probe.Close()
	return engine.CheckVersion(probe.version)
}

func funcDef(module, name string, d api.FunctionDefinition) engine.FuncDef {
	conv := func(ts []api.ValueType) []abi.ValueType {
		out := make([]abi.ValueType, len(ts))
		for i, t := range ts {
			out[i] = abi.ValueType(t)
		}
		return out
	}
	return engine.FuncDef{Module: module, Name: name, Params: conv(d.ParamTypes()), Results: conv(d.ResultTypes())}
}

// Close implements engine.Module.
func (m *Module) Close() error { return m.rt.Close(context.Background()) }

// Instance is one instance of the module.
type Instance struct {
	mod     api.Module
	mem     api.Memory
	handle  api.Function
	ctx     context.Context // carries env to the imports; canceled by Interrupt
	cancel  context.CancelFunc
	stack   [1]uint64 // handle's parameter and result, reused by every call
	reqPtr  uint32
	respPtr uint32
	version int32
}

// Instantiate implements engine.Module.
func (m *Module) Instantiate(env *imports.Env, cfg abi.Config) (engine.Instance, error) {
	inst, err := m.instantiate(env)
	if err != nil {
		return nil, err
	}
	if err := engine.CheckVersion(inst.version); err != nil {
		inst.Close()
		return nil, err
	}
	res, err := inst.mod.ExportedFunction(abi.ExportConfigure).Call(inst.ctx, uint64(cfg.RaidaID), uint64(cfg.CoinID))
	if err == nil && abi.Errno(int32(res[0])) != abi.OK {
		err = fmt.Errorf("configure raida_id %d coin_id %d: %w", cfg.RaidaID, cfg.CoinID, abi.Errno(int32(res[0])))
	}
	if err != nil {
		inst.Close()
		return nil, err
	}
	return inst, nil
}

func (m *Module) instantiate(env *imports.Env) (*Instance, error) {
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), envKey{}, env))
	// No preopens, environment or arguments: the module's only window is
	// the raidakx imports. The Go runtime gets a real clock and random
	// source (wazero's defaults are fixed for reproducibility).
	mc := wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions(abi.ExportInitialize).
		WithSysWalltime().WithSysNanotime().WithSysNanosleep().
		WithRandSource(rand.Reader).
		WithStderr(logWriter{m.logger})
	mod, err := m.rt.InstantiateModule(ctx, m.compiled, mc)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("instantiate module: %w", err)
	}
	inst := &Instance{mod: mod, mem: mod.Memory(), handle: mod.ExportedFunction(abi.ExportHandle), ctx: ctx, cancel: cancel}
	for _, e := range []struct {
		name string
		dst  *uint32
	}{{abi.ExportABIVersion, (*uint32)(nil)}, {abi.ExportRequestBuffer, &inst.reqPtr}, {abi.ExportResponseBuffer, &inst.respPtr}} {
		res, err := mod.ExportedFunction(e.name).Call(ctx)
		if err != nil {
			inst.Close()
			return nil, fmt.Errorf("%s: %w", e.name, err)
		}
		if e.dst == nil {
			inst.version = int32(res[0])
		} else {
			*e.dst = uint32(res[0])
		}
	}
	if _, ok := inst.mem.Read(inst.reqPtr, abi.RequestCap); !ok {
		inst.Close()
		return nil, errors.New("module's request buffer lies outside its memory")
	}
	return inst, nil
}

// Handle implements engine.Instance.
func (i *Instance) Handle(req, resp []byte) (int, error) {
	if !i.mem.Write(i.reqPtr, req) {
		return 0, errors.New("request buffer outside memory")
	}
	i.stack[0] = uint64(len(req))
	if err := i.handle.CallWithStack(i.ctx, i.stack[:]); err != nil {
		return 0, err
	}
	n := uint32(i.stack[0])
	if n > abi.ResponseCap {
		return 0, fmt.Errorf("module returned a %d-byte response, more than %d", n, abi.ResponseCap)
	}
	out, ok := i.mem.Read(i.respPtr, n)
	if !ok {
		return 0, errors.New("response buffer outside memory")
	}
	return copy(resp, out), nil
}

// Interrupt implements engine.Instance.
func (i *Instance) Interrupt() { i.cancel() }

// Close implements engine.Instance.
func (i *Instance) Close() error {
	i.cancel()
	return i.mod.Close(context.Background())
}

// logWriter sends what the module's Go runtime prints on stderr (a panic's
// trace) to the log.
type logWriter struct{ l *slog.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	w.l.Warn("module stderr", "text", string(p))
	return len(p), nil
}
