//go:build cgo

package engines

import (
	"context"
	"log/slog"

	"github.com/raidakx/raidakx/host/engine"
	"github.com/raidakx/raidakx/host/engine/wasmtime"
)

func init() {
	registry["wasmtime"] = func(ctx context.Context, wasm []byte, opts engine.Options, logger *slog.Logger) (engine.Module, error) {
		m, err := wasmtime.Compile(ctx, wasm, opts, logger)
		if err != nil {
			return nil, err // not a typed nil in the interface
		}
		return m, nil
	}
}
