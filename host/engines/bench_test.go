package engines_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/client"
	"github.com/raidakx/raidakx/host/engine"
	"github.com/raidakx/raidakx/host/engines"
	"github.com/raidakx/raidakx/host/imports"
	"github.com/raidakx/raidakx/host/storage"
	"github.com/raidakx/raidakx/wasm/wasmtest"
)

// benchState is a node with coin (1, 5) for type 1, recipient (1, 7),
// decryption coin file coins/02.5000.bin and one key.
func benchState() (*storage.MemRecords, *storage.MemFiles, []byte) {
	var r15, r17 storage.Record
	copy(r15[:], bytes.Repeat([]byte{0x15}, 16))
	copy(r17[:], bytes.Repeat([]byte{0x17}, 16))
	recs := storage.NewMemRecords(map[storage.RecordKey]storage.Record{{Den: 1, SN: 5}: r15, {Den: 1, SN: 7}: r17})
	coin := make([]byte, 440)
	binary.BigEndian.PutUint16(coin[2:], 6)
	rand.Read(coin[40:])
	files := storage.NewMemFiles(map[string][]byte{
		"coins/02.5000.bin":                     coin,
		"Keys/00000000000000000000000000000000": make([]byte, 133),
	})
	return recs, files, coin
}

// benchRequests returns the type-1 request of each benchmarked command.
func benchRequests(coin []byte) map[string][]byte {
	node := client.Node{RaidaID: 14, CoinID: 6}
	enc := client.Encryption{Den: 1, SN: 5, AN: bytes.Repeat([]byte{0x15}, 16)}
	decrypt := func(n int) []byte {
		r := client.NewRequest(4, 45, nil, enc)
		p := []byte{2, 0, 0, 0x13, 0x88}
		for i := range n {
			sn := uint32(i * 397 % abi.SNLimit)
			block := make([]byte, 16)
			block[8] = 3
			binary.BigEndian.PutUint32(block[9:], sn)
			block[15] = 0xff
			p = append(p, 0, 6, byte(i&1), 0, 0, 3)
			p = binary.BigEndian.AppendUint32(p, sn)
			enc := make([]byte, 16)
			client.CTR(coin[40:56], r.Nonce, 0, enc, block)
			p = append(p, enc...)
		}
		r.Payload = p
		return r.Encode(node)
	}
	post := make([]byte, 167)
	post[0], post[166] = 1, 100
	return map[string][]byte{
		"echo":    client.NewRequest(0, 0, nil, client.Encryption{}).Encode(node),
		"41":      client.NewRequest(4, 41, post, enc).Encode(node),
		"42":      client.NewRequest(4, 42, nil, enc).Encode(node),
		"43":      client.NewRequest(4, 43, make([]byte, 37), enc).Encode(node),
		"44":      client.NewRequest(4, 44, []byte{1, 0, 0, 0, 7, 1, 2, 3, 4, 5, 6, 7, 8}, enc).Encode(node),
		"45x1":    decrypt(1),
		"45x100":  decrypt(100),
		"45x2519": decrypt(2519),
	}
}

var benchCommands = []string{"echo", "41", "42", "43", "44", "44spread", "45x1", "45x100", "45x2519"}

// spreadRecipients is the number of recipients 44spread cycles through:
// more than the module's cache of key schedules holds, as 44s for coins
// spread over the database are.
const spreadRecipients = 64

// spread44 returns 44 requests for recipients (3, 0..spreadRecipients-1).
func spread44(enc client.Encryption) [][]byte {
	node := client.Node{RaidaID: 14, CoinID: 6}
	var reqs [][]byte
	for sn := range spreadRecipients {
		reqs = append(reqs, client.NewRequest(4, 44, []byte{3, 0, 0, 0, byte(sn), 1, 2, 3, 4, 5, 6, 7, 8}, enc).Encode(node))
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
		recs, files, coin := benchState()
		env := imports.NewEnv(&imports.Backend{Records: recs, Files: files, Random: rand.Reader, Clock: time.Now, Logger: logger})
		cfg := abi.Config{RaidaID: 14, CoinID: 6}
		inst, err := mod.Instantiate(env, cfg)
		if err != nil {
			b.Fatal(err)
		}
		reqs := benchRequests(coin)
		resp := make([]byte, abi.ResponseCap)
		for _, cmd := range benchCommands {
			b.Run(name+"/"+cmd, func(b *testing.B) {
				cycle := [][]byte{reqs[cmd]}
				if cmd == "44spread" {
					cycle = spread44(client.Encryption{Den: 1, SN: 5, AN: bytes.Repeat([]byte{0x15}, 16)})
				}
				for _, req := range cycle {
					n, err := engine.Serve(inst, env, cfg, req, resp)
					if err != nil || n < 32 || (resp[2] != 250 && resp[2] != 0) {
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
			recs, files, _ := benchState()
			env := imports.NewEnv(&imports.Backend{Records: recs, Files: files, Random: rand.Reader, Clock: time.Now, Logger: logger})
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				inst, err := mod.Instantiate(env, abi.Config{RaidaID: 14, CoinID: 6})
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
