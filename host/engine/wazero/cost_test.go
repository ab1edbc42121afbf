package wazero

import (
	"context"
	"crypto/rand"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/engine"
	"github.com/raidakx/raidakx/host/engine/enginetest"
	"github.com/raidakx/raidakx/host/engine/wazero/loopcount"
	"github.com/raidakx/raidakx/host/imports"
	"github.com/raidakx/raidakx/wasm/wasmtest"
)

// BenchmarkCost breaks down what a request costs under wazero's compiler
// (BENCHMARKS.md, "Cost of one 44"), on the requests and state of
// host/engines' BenchmarkRequest (package enginetest):
//
//   - call/*: raidakx_abi_version, a call that does nothing: wazero's fixed
//     cost per call, which for an interruptible module includes a
//     goroutine it starts to watch the call's context.
//   - CMD/interruptible: the request on the module as served, and
//     checks/op, the interruption checks it executes: loop headers,
//     counted on an instrumented copy (package loopcount).
//   - CMD/uninterruptible: the same request on the module compiled without
//     those checks, which is never served (see compile).
func BenchmarkCost(b *testing.B) {
	wasm, err := os.ReadFile(wasmtest.Path(b))
	if err != nil {
		b.Fatal(err)
	}
	counted, err := loopcount.Instrument(wasm)
	if err != nil {
		b.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	newInstance := func(wasm []byte, interruptible bool) (*Instance, *imports.Env, []byte) {
		m, err := compile(context.Background(), wasm, false, interruptible, engine.Options{}, quiet)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { m.Close() })
		recs, files, coin := enginetest.State()
		env := imports.NewEnv(&imports.Backend{Records: recs, Files: files, Random: rand.Reader, Clock: time.Now, Logger: quiet})
		inst, err := m.Instantiate(env, enginetest.Node)
		if err != nil {
			b.Fatal(err)
		}
		return inst.(*Instance), env, coin
	}
	for _, interruptible := range []bool{true, false} {
		mode := map[bool]string{true: "interruptible", false: "uninterruptible"}[interruptible]
		inst, env, coin := newInstance(wasm, interruptible)
		b.Run("call/"+mode, func(b *testing.B) {
			version := inst.mod.ExportedFunction(abi.ExportABIVersion)
			stack := make([]uint64, 1)
			for b.Loop() {
				if err := version.CallWithStack(inst.ctx, stack); err != nil {
					b.Fatal(err)
				}
			}
		})
		reqs := enginetest.Requests(coin)
		var checks map[string]uint64
		if interruptible {
			checks = checksPerRequest(b, newInstance, counted, reqs)
		}
		resp := make([]byte, abi.ResponseCap)
		for _, cmd := range enginetest.Commands {
			b.Run(cmd+"/"+mode, func(b *testing.B) {
				if n, err := engine.Serve(inst, env, enginetest.Node, reqs[cmd], resp); err != nil || !enginetest.Answered(resp, n) {
					b.Fatalf("status %d, %v", resp[abi.OffRespStatus], err)
				}
				for b.Loop() {
					engine.Serve(inst, env, enginetest.Node, reqs[cmd], resp)
				}
				if interruptible {
					b.ReportMetric(float64(checks[cmd]), "checks/op")
				}
			})
		}
	}
}

// checksPerRequest serves each request twice on an instance of the
// instrumented module and returns the loop headers the second one
// executed. The count is exact and repeats from one request to the next.
func checksPerRequest(b *testing.B, newInstance func([]byte, bool) (*Instance, *imports.Env, []byte), counted []byte, reqs map[string][]byte) map[string]uint64 {
	inst, env, _ := newInstance(counted, true)
	counter := inst.mod.ExportedGlobal(loopcount.Export)
	resp := make([]byte, abi.ResponseCap)
	checks := map[string]uint64{}
	for cmd, req := range reqs {
		engine.Serve(inst, env, enginetest.Node, req, resp) // warm-up: first-use paths of the Go runtime
		before := counter.Get()
		if n, err := engine.Serve(inst, env, enginetest.Node, req, resp); err != nil || !enginetest.Answered(resp, n) {
			b.Fatalf("%s on the instrumented module: status %d, %v", cmd, resp[abi.OffRespStatus], err)
		}
		checks[cmd] = counter.Get() - before
	}
	return checks
}
