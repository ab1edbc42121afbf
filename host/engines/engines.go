// Package engines loads the key-exchange module under an engine chosen by
// name.
package engines

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/raidakx/raidakx/host/engine"
	"github.com/raidakx/raidakx/host/engine/wazero"
)

// Default is the engine used when none is named.
const Default = "wazero"

// Names lists the engines this build provides.
func Names() []string { return []string{"wazero", "wazero-interp"} }

// Load compiles the module file at path under the named engine.
func Load(ctx context.Context, name, path string, opts engine.Options, logger *slog.Logger) (engine.Module, error) {
	wasm, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read module: %w", err)
	}
	var mod engine.Module
	switch name {
	case "wazero":
		mod, err = wazero.Compile(ctx, wasm, false, opts, logger)
	case "wazero-interp":
		mod, err = wazero.Compile(ctx, wasm, true, opts, logger)
	default:
		return nil, fmt.Errorf("unknown engine %q (this build has %s)", name, strings.Join(Names(), ", "))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", name, path, err)
	}
	return mod, nil
}
