//go:build !cgo

package engines

import (
	"context"
	"errors"
	"log/slog"

	"github.com/raidakx/raidakx/host/engine"
)

func init() {
	registry["wasmtime"] = func(context.Context, []byte, engine.Options, *slog.Logger) (engine.Module, error) {
		return nil, errors.New("this raidakx was built with CGO_ENABLED=0; the wasmtime engine needs cgo (gcc)")
	}
}
