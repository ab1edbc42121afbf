// Package engines loads the key-exchange module under an engine chosen by
// name.
package engines

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/raidakx/raidakx/host/engine"
	"github.com/raidakx/raidakx/host/engine/native"
	"github.com/raidakx/raidakx/host/engine/wazero"
)

// Default is the engine used when none is named.
const Default = "wazero"

// loader compiles a module's bytes under one engine.
type loader func(ctx context.Context, wasm []byte, opts engine.Options, logger *slog.Logger) (engine.Module, error)

// registry maps engine names to loaders. Engines that need cgo are defined
// in build-tagged files; without cgo their loader explains why it fails.
var registry = map[string]loader{
	"wazero": func(ctx context.Context, wasm []byte, opts engine.Options, logger *slog.Logger) (engine.Module, error) {
		return wazero.Compile(ctx, wasm, false, opts, logger)
	},
	"wazero-interp": func(ctx context.Context, wasm []byte, opts engine.Options, logger *slog.Logger) (engine.Module, error) {
		return wazero.Compile(ctx, wasm, true, opts, logger)
	},
	// native ignores the module file: it links the same Go code directly.
	"native": func(context.Context, []byte, engine.Options, *slog.Logger) (engine.Module, error) {
		return native.Module{}, nil
	},
}

// unavailable maps engines this build lacks to the reason.
var unavailable = map[string]string{}

// Names lists the engines this build provides, sorted.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Load compiles the module file at path under the named engine.
func Load(ctx context.Context, name, path string, opts engine.Options, logger *slog.Logger) (engine.Module, error) {
	load, ok := registry[name]
	if why, missing := unavailable[name]; missing {
		return nil, fmt.Errorf("engine %s: %s", name, why)
	}
	if !ok {
		return nil, fmt.Errorf("unknown engine %q (engines: %s)", name, strings.Join(Names(), ", "))
	}
	wasm, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read module: %w", err)
	}
	if logger == nil {
		logger = slog.Default()
	}
	mod, err := load(ctx, wasm, opts, logger)
	if err != nil {
		return nil, fmt.Errorf("engine %s: %s: %w", name, path, err)
	}
	return mod, nil
}
