package engines_test

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/client"
	"github.com/raidakx/raidakx/host/engine"
	"github.com/raidakx/raidakx/host/engine/enginetest"
	"github.com/raidakx/raidakx/host/engines"
	"github.com/raidakx/raidakx/host/imports"
	"github.com/raidakx/raidakx/wasm/wasmtest"
)

// spreadRecipients is the number of recipients 44spread cycles through,
// as 44s for coins spread over the database do.
const spreadRecipients = 64

// spread44 returns 44 requests for recipients (3, 0..spreadRecipients-1).
func spread44() [][]byte {
	node := client.Node{RaidaID: enginetest.Node.RaidaID, CoinID: enginetest.Node.CoinID}
	var reqs [][]byte
	for sn := range spreadRecipients {
		reqs = append(reqs, client.NewRequest(4, 44, []byte{3, 0, 0, 0, byte(sn), 1, 2, 3, 4, 5, 6, 7, 8}, enginetest.Type1).Encode(node))
	}
	return reqs
}

// BenchmarkRequest runs whole requests, header to response, through
// engine.Serve on one instance of every engine.
func BenchmarkRequest(b *testing.B) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, name := range engines.Names() {
		mod, err := engines.Load(context.Background(), name, wasmtest.Path(b), engine.Options{}, logger)
		if err != nil {
			b.Fatal(err)
		}
		recs, files, coin := enginetest.State()
		env := imports.NewEnv(&imports.Backend{Records: recs, Files: files, Random: rand.Reader, Clock: time.Now, Logger: logger})
		cfg := enginetest.Node
		inst, err := mod.Instantiate(env, cfg)
		if err != nil {
			b.Fatal(err)
		}
		reqs := enginetest.Requests(coin)
		resp := make([]byte, abi.ResponseCap)
		for _, cmd := range slices.Insert(slices.Clone(enginetest.Commands), 5, "44spread") {
			b.Run(name+"/"+cmd, func(b *testing.B) {
				cycle := [][]byte{reqs[cmd]}
				if cmd == "44spread" {
					cycle = spread44()
				}
				for _, req := range cycle {
					n, err := engine.Serve(inst, env, cfg, req, resp)
					if err != nil || !enginetest.Answered(resp, n) {
						b.Fatalf("%s: status %d, %v", cmd, resp[2], err)
					}
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					engine.Serve(inst, env, cfg, cycle[i%len(cycle)], resp)
				}
			})
		}
		inst.Close()
		mod.Close()
	}
}

// BenchmarkInstantiate measures making one ready instance.
func BenchmarkInstantiate(b *testing.B) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, name := range engines.Names() {
		b.Run(name, func(b *testing.B) {
			mod, err := engines.Load(context.Background(), name, wasmtest.Path(b), engine.Options{}, logger)
			if err != nil {
				b.Fatal(err)
			}
			defer mod.Close()
			recs, files, _ := enginetest.State()
			env := imports.NewEnv(&imports.Backend{Records: recs, Files: files, Random: rand.Reader, Clock: time.Now, Logger: logger})
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				inst, err := mod.Instantiate(env, enginetest.Node)
				if err != nil {
					b.Fatal(err)
				}
				inst.Close()
			}
		})
	}
}

// BenchmarkCompile measures compiling the module without a cache.
func BenchmarkCompile(b *testing.B) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, name := range engines.Names() {
		b.Run(name, func(b *testing.B) {
			for range b.N {
				mod, err := engines.Load(context.Background(), name, wasmtest.Path(b), engine.Options{}, logger)
				if err != nil {
					b.Fatal(err)
				}
				mod.Close()
			}
		})
	}
}
