// Package native runs the module's request path (package keyexchange)
// linked into the host, with no sandbox. The imports are the same
// imports.Env the sandboxed engines use, so only the isolation differs: it
// is the baseline for benchmarks and differential tests, never the
// default for serving.
package native

import (
	"fmt"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/engine"
	"github.com/raidakx/raidakx/host/imports"
	"github.com/raidakx/raidakx/wasm/keyexchange"
)

// Module implements engine.Module without any WebAssembly.
type Module struct{}

// Instantiate implements engine.Module.
func (Module) Instantiate(env *imports.Env, cfg abi.Config) (engine.Instance, error) {
	if !cfg.Valid() {
		return nil, fmt.Errorf("configure raida_id %d coin_id %d: %w", cfg.RaidaID, cfg.CoinID, abi.ErrBadConfig)
	}
	return &Instance{h: keyexchange.NewHandler(host{env}, cfg)}, nil
}

// host is the module's view of env: the same imports, with den typed as
// the module's request path types it.
type host struct{ *imports.Env }

func (h host) PageLock(den int8, page uint32) abi.Errno { return h.Env.PageLock(int32(den), page) }

func (h host) PageUnlock(den int8, page uint32) abi.Errno { return h.Env.PageUnlock(int32(den), page) }

func (h host) RecordRead(den int8, sn uint32, rec *[abi.RecordSize]byte) abi.Errno {
	return h.Env.RecordRead(int32(den), sn, rec)
}

func (h host) RecordWrite(den int8, sn uint32, rec *[abi.RecordSize]byte) abi.Errno {
	return h.Env.RecordWrite(int32(den), sn, rec)
}

// Close implements engine.Module.
func (Module) Close() error { return nil }

// Instance is one handler with its scratch space.
type Instance struct {
	h *keyexchange.Handler
}

// Handle implements engine.Instance. A fault raised by the imports (the
// same panics that trap a sandboxed instance) becomes an error; any other
// panic is a bug in the host process and is not hidden.
func (i *Instance) Handle(req, resp []byte) (n int, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(*imports.Fault)
			if !ok {
				panic(r)
			}
			err = f
		}
	}()
	return i.h.Handle(req, resp), nil
}

// Interrupt implements engine.Instance. Native code cannot be stopped from
// outside; the request path has no unbounded loop.
func (i *Instance) Interrupt() {}

// Close implements engine.Instance.
func (i *Instance) Close() error { return nil }
