// Package engine defines what every way of running the key-exchange
// module provides (Module, Instance), the load-time ABI check they share,
// and Serve, the per-request policy: trap containment and the 252 answer.
// Implementations live in the sub-packages (wazero, ...); package engines
// picks one by name.
package engine

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/imports"
)

// Options configures a module's compilation and its instances.
type Options struct {
	// MemoryLimit is the most linear memory one instance may grow to, in
	// bytes; 0 means DefaultMemoryLimit.
	MemoryLimit uint64
	// CacheDir, when set, keeps compiled code between runs.
	CacheDir string
}

// DefaultMemoryLimit bounds an instance's memory. The Go runtime in the
// module needs a few MiB; a request never needs more than 1 MiB on top.
const DefaultMemoryLimit = 64 << 20

// MemoryLimitPages returns the limit in 64 KiB WebAssembly pages.
func (o Options) MemoryLimitPages() uint32 {
	limit := o.MemoryLimit
	if limit == 0 {
		limit = DefaultMemoryLimit
	}
	return uint32(min(limit>>16, 65536))
}

// Module is a compiled module, safe for concurrent use, from which
// instances are made.
type Module interface {
	// Instantiate makes an instance whose imports are env, configured as
	// node cfg. The instance is ready to handle requests.
	Instantiate(env *imports.Env, cfg abi.Config) (Instance, error)
	// Close releases the module and every instance made from it.
	Close() error
}

// Instance is one module instance. Handle is never called concurrently;
// Interrupt may be called from any goroutine.
type Instance interface {
	// Handle answers req (at most abi.RequestCap bytes) into resp (at
	// least abi.ResponseCap bytes) and returns the response length. An
	// error means the instance trapped or was interrupted and must be
	// discarded.
	Handle(req, resp []byte) (int, error)
	// Interrupt stops a running Handle, which then returns an error, and
	// makes the instance unusable.
	Interrupt()
	// Close releases the instance.
	Close() error
}

// Serve runs one request on inst with the policy every host follows:
// requests are cut to abi.RequestCap (the rest is never read); a trap, an
// interrupt or a page lock still held on return discards the instance,
// releases its lock and answers 252. It returns the response length and,
// when the instance must be discarded, why.
func Serve(inst Instance, env *imports.Env, cfg abi.Config, req, resp []byte) (int, error) {
	req = req[:min(len(req), abi.RequestCap)]
	n, err := inst.Handle(req, resp)
	switch {
	case err != nil:
	case env.Locked():
		err = &imports.Fault{Reason: "returned holding a page lock"}
	case n > 0 && n < abi.HeaderSize:
		err = &imports.Fault{Reason: fmt.Sprintf("returned a %d-byte response", n)}
	}
	if err != nil {
		env.Release()
		return abi.PutInternalError(resp, req, cfg.RaidaID), err
	}
	return n, nil
}

// FuncDef is a function import or export as a runtime reports it.
type FuncDef struct {
	Module, Name string // Module is empty for an export
	Params       []abi.ValueType
	Results      []abi.ValueType
}

// ABIError lists every way a module fails the ABI.
type ABIError struct{ Problems []string }

func (e *ABIError) Error() string {
	return "module does not implement raidakx ABI v" + fmt.Sprint(abi.Version) + ":\n  " + strings.Join(e.Problems, "\n  ")
}

// ErrABIVersion is wrapped when the module's ABI version differs.
var ErrABIVersion = errors.New("ABI version mismatch")

// CheckABI checks a module's function imports and exports against
// abi.Imports and abi.Exports. Imports from wasi_snapshot_preview1 are
// allowed: the Go runtime in the module uses them.
// otherImports names every import that is not a function, as
// "module.name"; the ABI has none.
func CheckABI(importDefs, exportDefs []FuncDef, otherImports []string, exportsMemory bool) error {
	var problems []string
	for _, name := range otherImports {
		problems = append(problems, "imports "+name+", which is not a function")
	}
	for _, d := range importDefs {
		switch d.Module {
		case "wasi_snapshot_preview1":
		case abi.ImportModule:
			want, ok := abi.Imports[d.Name]
			if !ok {
				problems = append(problems, fmt.Sprintf("imports %s.%s, which the ABI does not define", d.Module, d.Name))
			} else if !sameSig(want, d) {
				problems = append(problems, fmt.Sprintf("imports %s.%s as %s, want %s", d.Module, d.Name, sigString(d.Params, d.Results), sigString(want.Params, want.Results)))
			}
		default:
			problems = append(problems, fmt.Sprintf("imports %s.%s from a module this host does not provide", d.Module, d.Name))
		}
	}
	names := make([]string, 0, len(abi.Exports))
	for name := range abi.Exports {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		want := abi.Exports[name]
		i := slices.IndexFunc(exportDefs, func(d FuncDef) bool { return d.Name == name })
		if i < 0 {
			problems = append(problems, "does not export function "+name)
		} else if !sameSig(want, exportDefs[i]) {
			problems = append(problems, fmt.Sprintf("exports %s as %s, want %s", name, sigString(exportDefs[i].Params, exportDefs[i].Results), sigString(want.Params, want.Results)))
		}
	}
	if !exportsMemory {
		problems = append(problems, "does not export memory")
	}
	if problems != nil {
		return &ABIError{Problems: problems}
	}
	return nil
}

// CheckVersion returns an error wrapping ErrABIVersion unless v is
// abi.Version.
func CheckVersion(v int32) error {
	if v != abi.Version {
		return fmt.Errorf("%w: module has v%d, host has v%d", ErrABIVersion, v, abi.Version)
	}
	return nil
}

func sameSig(want abi.Signature, d FuncDef) bool {
	return slices.Equal(want.Params, d.Params) && slices.Equal(want.Results, d.Results)
}

func sigString(params, results []abi.ValueType) string {
	name := func(ts []abi.ValueType) string {
		s := make([]string, len(ts))
		for i, t := range ts {
			s[i] = map[abi.ValueType]string{abi.I32: "i32", abi.I64: "i64"}[t]
			if s[i] == "" {
				s[i] = fmt.Sprintf("0x%02x", byte(t))
			}
		}
		return "(" + strings.Join(s, ", ") + ")"
	}
	return name(params) + " -> " + name(results)
}
