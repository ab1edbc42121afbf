package replay_test

import (
	"context"
	"encoding/hex"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/raidakx/raidakx/host/engine"
	"github.com/raidakx/raidakx/host/engines"
	"github.com/raidakx/raidakx/testvectors/replay"
	"github.com/raidakx/raidakx/wasm/wasmtest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func load(t *testing.T, name string) engine.Module {
	t.Helper()
	mod, err := engines.Load(context.Background(), name, wasmtest.Path(t), engine.Options{}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mod.Close() })
	return mod
}

// TestVectors replays every vector file on every engine of this build.
func TestVectors(t *testing.T) {
	vectors, err := replay.Load("..")
	if err != nil {
		t.Fatal(err)
	}
	if len(vectors) < 60 {
		t.Fatalf("only %d vectors", len(vectors))
	}
	for _, name := range engines.Names() {
		t.Run(name, func(t *testing.T) {
			mod := load(t, name)
			for i := range vectors {
				if err := replay.Run(mod, &vectors[i], quiet); err != nil {
					t.Errorf("%s: %v", vectors[i].Name, err)
				}
			}
		})
	}
}

// TestReplayDetects checks that the harness fails vectors that are wrong
// in each way the format defines, so a passing replay means something.
func TestReplayDetects(t *testing.T) {
	vectors, err := replay.Load("../k45.json", "../k44.json", "../k41.json")
	if err != nil {
		t.Fatal(err)
	}
	find := func(pred func(v *replay.Vector) bool) replay.Vector {
		for _, v := range vectors {
			if pred(&v) {
				return v
			}
		}
		t.Fatal("no vector fits")
		return replay.Vector{}
	}
	withRecords := find(func(v *replay.Vector) bool { return len(v.Expect.Records) > 0 })
	withFiles := find(func(v *replay.Vector) bool { return len(v.Expect.Files) > 0 })
	withRandom := find(func(v *replay.Vector) bool { return v.RandomHex != "" })
	mod := load(t, "wazero")
	tests := []struct {
		name string
		base replay.Vector
		edit func(v *replay.Vector)
		want string
	}{
		{"response byte", withRecords, func(v *replay.Vector) { v.ResponseHex = flipLastByte(v.ResponseHex) }, "response byte"},
		{"response length", withRecords, func(v *replay.Vector) { v.ResponseHex += "00" }, "response length"},
		{"expected record", withRecords, func(v *replay.Vector) { v.Expect.Records[0].MFS ^= 1 }, "record"},
		{"unexpected record change", withRecords, func(v *replay.Vector) { v.Expect.Records = v.Expect.Records[1:] }, "expects no change"},
		{"expected file", withFiles, func(v *replay.Vector) {
			for k, h := range v.Expect.Files {
				v.Expect.Files[k] = flipLastByte(h)
			}
		}, "file"},
		{"unexpected file change", withFiles, func(v *replay.Vector) { v.Expect.Files = map[string]string{} }, "expects no change"},
		{"random exhausted", withRandom, func(v *replay.Vector) { v.RandomHex = v.RandomHex[:len(v.RandomHex)-2] }, "random"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := clone(tt.base)
			if err := replay.Run(mod, &v, quiet); err != nil {
				t.Fatalf("unedited vector %s fails: %v", v.Name, err)
			}
			tt.edit(&v)
			err := replay.Run(mod, &v, quiet)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("edited vector %s: error %v, want one mentioning %q", v.Name, err, tt.want)
			}
		})
	}
}

func clone(v replay.Vector) replay.Vector {
	v.Expect.Records = append([]replay.Record(nil), v.Expect.Records...)
	files := map[string]string{}
	for k, h := range v.Expect.Files {
		files[k] = h
	}
	v.Expect.Files = files
	return v
}

func flipLastByte(h string) string {
	b, _ := hex.DecodeString(h)
	b[len(b)-1] ^= 0x80
	return hex.EncodeToString(b)
}
