package engines_test

// Differential tests: the same request, over the same initial state and
// the same random bytes, must give the same response (bytes 12-15, the
// execution time, masked), the same final records and files and the same
// number of random bytes drawn under every engine of this build. The
// native engine, which links package keyexchange directly, is the
// reference; the sandboxed engines (wazero's compiler, wasmtime in cgo
// builds) are compared against it.
//
//	go test -run='^$' -fuzz=FuzzDifferential -fuzztime=60s ./host/engines/

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/engine"
	"github.com/raidakx/raidakx/host/engines"
	"github.com/raidakx/raidakx/host/imports"
	"github.com/raidakx/raidakx/host/storage"
	"github.com/raidakx/raidakx/testvectors/replay"
	"github.com/raidakx/raidakx/wasm/wasmtest"
)

var diffQuiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// diffState is a request's world: the node, its clock, its records and
// files and the random bytes its host serves.
type diffState struct {
	cfg     abi.Config
	now     time.Time
	records map[storage.RecordKey]storage.Record
	files   map[string][]byte
	random  []byte
}

// diffResult is everything an engine produced for one request.
type diffResult struct {
	resp    []byte
	fault   error
	records map[storage.RecordKey]storage.Record
	files   map[string][]byte
	drawn   int
}

// diffRandom serves a fixed sequence of random bytes and counts them.
type diffRandom struct {
	data []byte
	n    int
}

func (r *diffRandom) Read(p []byte) (int, error) {
	if len(p) > len(r.data)-r.n {
		return 0, io.ErrUnexpectedEOF
	}
	r.n += copy(p, r.data[r.n:])
	return len(p), nil
}

// diffEngineNames are the engines fuzzing compares: the reference first.
// The interpreter is left out (its compile and instantiation are slow and
// it runs the same wazero front end); TestDifferentialVectors runs every
// engine of engines.Names().
var diffEngineNames = []string{"native", "wazero", "wasmtime"}

// diffModules are the engines' modules, compiled once per test process
// (each fuzz worker is a process of its own) and never closed.
var diffModules struct {
	sync.Mutex
	mods    map[string]engine.Module
	skipped map[string]string // engine name: why it is not in this build
}

// diffModule returns the named engine's module, loading it on first use.
// It returns nil (and the reason) for wasmtime in a build without cgo.
func diffModule(tb testing.TB, name string) (engine.Module, string) {
	tb.Helper()
	diffModules.Lock()
	defer diffModules.Unlock()
	if diffModules.mods == nil {
		diffModules.mods, diffModules.skipped = map[string]engine.Module{}, map[string]string{}
	}
	if m, ok := diffModules.mods[name]; ok {
		return m, ""
	}
	if why, ok := diffModules.skipped[name]; ok {
		return nil, why
	}
	if !slices.Contains(engines.Names(), name) {
		diffModules.skipped[name] = "not an engine of this build"
		return nil, diffModules.skipped[name]
	}
	mod, err := engines.Load(context.Background(), name, wasmtest.Path(tb), engine.Options{}, diffQuiet)
	if err != nil {
		// Without cgo the wasmtime engine is registered but only
		// explains that it cannot load.
		if name == "wasmtime" && strings.Contains(err.Error(), "CGO_ENABLED=0") {
			diffModules.skipped[name] = err.Error()
			return nil, diffModules.skipped[name]
		}
		tb.Fatalf("load engine %s: %v", name, err)
	}
	diffModules.mods[name] = mod
	return mod, ""
}

// diffEngines returns the modules of names that this build has, in order.
func diffEngines(tb testing.TB, names []string) (out []string, mods []engine.Module) {
	tb.Helper()
	for _, name := range names {
		mod, why := diffModule(tb, name)
		if mod == nil {
			tb.Logf("engine %s left out: %s", name, why)
			continue
		}
		out, mods = append(out, name), append(mods, mod)
	}
	if len(out) < 2 || out[0] != "native" {
		tb.Fatalf("need native and at least one sandboxed engine, have %v", out)
	}
	return out, mods
}

// diffNewWorld returns a host over a fresh copy of s: the backend, and the
// stores and random source behind it to read back.
func diffNewWorld(s *diffState) (*imports.Backend, *storage.MemRecords, *storage.MemFiles, *diffRandom) {
	recs := storage.NewMemRecords(s.records)
	fls := storage.NewMemFiles(s.files)
	rnd := &diffRandom{data: s.random}
	b := &imports.Backend{
		Records: recs,
		Files:   fls,
		Random:  rnd,
		Clock:   func() time.Time { return s.now },
		Logger:  diffQuiet,
	}
	return b, recs, fls, rnd
}

// diffServe answers req on inst and collects the result.
func diffServe(inst engine.Instance, env *imports.Env, s *diffState, recs *storage.MemRecords, fls *storage.MemFiles, rnd *diffRandom, req []byte) (diffResult, error) {
	resp := make([]byte, abi.ResponseCap)
	n, fault := engine.Serve(inst, env, s.cfg, req, resp)
	if env.Locked() {
		return diffResult{}, fmt.Errorf("a page lock is still held after Serve")
	}
	return diffResult{resp: resp[:n], fault: fault, records: recs.Snapshot(), files: fls.Snapshot(), drawn: rnd.n}, nil
}

// diffRunFresh answers req on a fresh instance of mod over a fresh copy of s.
func diffRunFresh(mod engine.Module, s *diffState, req []byte) (diffResult, error) {
	b, recs, fls, rnd := diffNewWorld(s)
	env := imports.NewEnv(b)
	inst, err := mod.Instantiate(env, s.cfg)
	if err != nil {
		return diffResult{}, fmt.Errorf("instantiate: %w", err)
	}
	defer inst.Close()
	return diffServe(inst, env, s, recs, fls, rnd, req)
}

// diffSlot is an engine's instance kept from one fuzz input to the next,
// as a server keeps its instances: instantiating the module for every
// input would make fuzzing a hundred times slower. The ABI lets a module
// keep no state between requests, so this changes no answer; a difference
// that only shows on a reused instance is still a bug (and is reported as
// such). The instance's Env points at a Backend whose stores are replaced
// before every input.
type diffSlot struct {
	mod  engine.Module
	b    *imports.Backend
	env  *imports.Env
	inst engine.Instance
}

var diffSlots = map[string]*diffSlot{} // fuzz inputs of one process run one at a time

// run answers req over a fresh copy of s on the slot's instance, making a
// new one first if there is none (or the last one faulted).
func (sl *diffSlot) run(s *diffState, req []byte) (diffResult, error) {
	b, recs, fls, rnd := diffNewWorld(s)
	*sl.b = *b
	if sl.inst == nil {
		sl.env = imports.NewEnv(sl.b)
		inst, err := sl.mod.Instantiate(sl.env, s.cfg)
		if err != nil {
			return diffResult{}, fmt.Errorf("instantiate: %w", err)
		}
		sl.inst = inst
	}
	r, err := diffServe(sl.inst, sl.env, s, recs, fls, rnd, req)
	if err != nil || r.fault != nil {
		sl.inst.Close()
		sl.inst = nil
	}
	return r, err
}

// diffCompare describes how b (engine nb) differs from a (engine na).
func diffCompare(na string, a diffResult, nb string, b diffResult) []string {
	var problems []string
	bad := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf("%s vs %s: ", na, nb)+fmt.Sprintf(format, args...))
	}
	if (a.fault == nil) != (b.fault == nil) {
		bad("fault %v, %v", a.fault, b.fault)
	}
	ra, rb := diffMaskTime(a.resp), diffMaskTime(b.resp)
	if !bytes.Equal(ra, rb) {
		i := 0
		for i < min(len(ra), len(rb)) && ra[i] == rb[i] {
			i++
		}
		bad("responses differ from byte %d (bytes 12-15 masked)\n  %s %x\n  %s %x", i, na, a.resp, nb, b.resp)
	}
	if a.drawn != b.drawn {
		bad("random bytes drawn %d, %d", a.drawn, b.drawn)
	}
	for _, k := range slices.SortedFunc(maps.Keys(diffKeys(a.records, b.records)), func(x, y storage.RecordKey) int {
		if x.Den != y.Den {
			return int(x.Den) - int(y.Den)
		}
		return int(int64(x.SN) - int64(y.SN))
	}) {
		ra, oka := a.records[k]
		rb, okb := b.records[k]
		if oka != okb || ra != rb {
			bad("record (%d, %d): %x (present %v), %x (present %v)", k.Den, k.SN, ra, oka, rb, okb)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(diffKeys(a.files, b.files))) {
		fa, oka := a.files[name]
		fb, okb := b.files[name]
		if oka != okb || !bytes.Equal(fa, fb) {
			bad("file %s: %x (present %v), %x (present %v)", name, fa, oka, fb, okb)
		}
	}
	return problems
}

func diffKeys[K comparable, V any](a, b map[K]V) map[K]bool {
	out := make(map[K]bool, len(a)+len(b))
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// diffMaskTime returns resp with the execution time (bytes 12-15) zeroed.
func diffMaskTime(resp []byte) []byte {
	out := bytes.Clone(resp)
	for i := abi.OffRespMicros; i < min(len(out), abi.OffRespMicros+4); i++ {
		out[i] = 0
	}
	return out
}

// diffRunAll answers req on every module, on fresh instances unless reuse
// is set, and returns the problems found: a failure to run, a fault (a
// healthy host never faults on any request) or a difference from the
// first engine.
func diffRunAll(names []string, mods []engine.Module, s *diffState, req []byte, reuse bool) []string {
	var problems []string
	results := make([]diffResult, len(mods))
	for i, mod := range mods {
		var r diffResult
		var err error
		if reuse {
			sl := diffSlots[names[i]]
			if sl == nil {
				sl = &diffSlot{mod: mod, b: new(imports.Backend)}
				diffSlots[names[i]] = sl
			}
			r, err = sl.run(s, req)
		} else {
			r, err = diffRunFresh(mod, s, req)
		}
		if err != nil {
			return append(problems, fmt.Sprintf("%s: %v", names[i], err))
		}
		if r.fault != nil {
			problems = append(problems, fmt.Sprintf("%s faulted: %v", names[i], r.fault))
		}
		results[i] = r
	}
	for i := 1; i < len(mods); i++ {
		problems = append(problems, diffCompare(names[0], results[0], names[i], results[i])...)
	}
	return problems
}

// diffVectorState is the state a vector gives.
func diffVectorState(v *replay.Vector) (*diffState, []byte, error) {
	s := &diffState{
		cfg:     abi.Config{RaidaID: byte(v.Config.RaidaID), CoinID: uint16(v.Config.CoinID)},
		now:     time.Unix(v.TimeUnix, 0),
		records: map[storage.RecordKey]storage.Record{},
		files:   map[string][]byte{},
	}
	var err error
	if s.random, err = hex.DecodeString(v.RandomHex); err != nil {
		return nil, nil, fmt.Errorf("random_hex: %w", err)
	}
	for _, r := range v.State.Records {
		an, err := hex.DecodeString(r.AN)
		if err != nil || len(an) != 16 || r.Den != int(int8(r.Den)) || !abi.RecordExists(int8(r.Den), r.SN) {
			return nil, nil, fmt.Errorf("bad record %+v", r)
		}
		var rec storage.Record
		copy(rec[:], an)
		rec[16] = byte(r.MFS)
		s.records[storage.RecordKey{Den: int8(r.Den), SN: r.SN}] = rec
	}
	for name, h := range v.State.Files {
		if s.files[name], err = hex.DecodeString(h); err != nil {
			return nil, nil, fmt.Errorf("file %s: %w", name, err)
		}
	}
	req, err := hex.DecodeString(v.RequestHex)
	if err != nil {
		return nil, nil, fmt.Errorf("request_hex: %w", err)
	}
	return s, req, nil
}

func diffLoadVectors(tb testing.TB) []replay.Vector {
	tb.Helper()
	vectors, err := replay.Load("../../testvectors")
	if err != nil {
		tb.Fatal(err)
	}
	if len(vectors) == 0 {
		tb.Fatal("no vectors")
	}
	return vectors
}

// TestDifferentialVectors runs every vector's request, over the vector's
// own state, under every engine of this build (the interpreter too) and
// compares each with the native engine (so all of them pairwise). It does
// not look at the vector's expected answer: testvectors/replay does.
func TestDifferentialVectors(t *testing.T) {
	all := []string{"native"}
	for _, name := range engines.Names() {
		if name != "native" {
			all = append(all, name)
		}
	}
	names, mods := diffEngines(t, all)
	vectors := diffLoadVectors(t)
	for i := range vectors {
		v := &vectors[i]
		s, req, err := diffVectorState(v)
		if err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		if p := diffRunAll(names, mods, s, req, false); len(p) > 0 {
			t.Errorf("%s (request %x):\n%s", v.Name, req, strings.Join(p, "\n"))
		}
	}
	t.Logf("%d vectors on %v", len(vectors), names)
}

// fuzzDiffState is the state of every fuzz input: the union of all
// vectors' states (the first vector wins where two disagree), node 14 of
// coin 6, 2026-11, and plenty of random bytes.
var fuzzDiffState = sync.OnceValues(func() (*diffState, error) {
	vectors, err := replay.Load("../../testvectors")
	if err != nil {
		return nil, err
	}
	u := &diffState{
		cfg:     abi.Config{RaidaID: 14, CoinID: 6},
		now:     time.Unix(1795000000, 0),
		records: map[storage.RecordKey]storage.Record{},
		files:   map[string][]byte{},
		random:  make([]byte, 1024),
	}
	for i := range u.random {
		u.random[i] = byte(i*167 + 13)
	}
	for i := range vectors {
		s, _, err := diffVectorState(&vectors[i])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", vectors[i].Name, err)
		}
		for k, r := range s.records {
			if _, ok := u.records[k]; !ok {
				u.records[k] = r
			}
		}
		for name, f := range s.files {
			if _, ok := u.files[name]; !ok {
				u.files[name] = f
			}
		}
	}
	coin := make([]byte, 440)
	binary.BigEndian.PutUint16(coin[2:], u.cfg.CoinID)
	for i := range 25 {
		copy(coin[40+16*i:], bytes.Repeat([]byte{0xa0 + byte(i)}, 16))
	}
	if _, ok := u.files["coins/01.1.bin"]; !ok {
		u.files["coins/01.1.bin"] = coin
	}
	if _, ok := u.files["Keys/ffffffffffffffffffffffffffffffff"]; !ok {
		u.files["Keys/ffffffffffffffffffffffffffffffff"] = bytes.Repeat([]byte("key-file"), 80)
	}
	return u, nil
})

func FuzzDifferential(f *testing.F) {
	s, err := fuzzDiffState()
	if err != nil {
		f.Fatal(err)
	}
	for _, v := range diffLoadVectors(f) {
		req, err := hex.DecodeString(v.RequestHex)
		if err != nil {
			f.Fatalf("%s: %v", v.Name, err)
		}
		f.Add(req)
	}
	// Compile here, not in the fuzz function: a worker gives one input
	// 10 s before it declares the process hung. Workers are processes of
	// their own that run this function too; the environment variable lets
	// them use this module file instead of building one each.
	names, mods := diffEngines(f, diffEngineNames)
	f.Setenv(wasmtest.EnvPath, wasmtest.Path(f))
	f.Fuzz(func(t *testing.T, req []byte) {
		p := diffRunAll(names, mods, s, req, true)
		if len(p) == 0 {
			return
		}
		// Tell a bug of the request from one of instance reuse.
		if fresh := diffRunAll(names, mods, s, req, false); len(fresh) == 0 {
			p = append([]string{"ONLY on instances reused from earlier inputs (fresh instances agree):"}, p...)
		}
		t.Errorf("request %x:\n%s", req, strings.Join(p, "\n"))
	})
}
