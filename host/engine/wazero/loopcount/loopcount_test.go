package loopcount_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/raidakx/raidakx/host/engine/wazero/loopcount"
)

// Hand-assembled WebAssembly binaries. A section is its id, its size in
// bytes (LEB128) and its contents; a vector is its length (LEB128), then
// its items; a name is a vector of UTF-8 bytes. A function body in the
// code section is its size, its local declarations, its instructions and
// end.

var header = []byte{
	0x00, 'a', 's', 'm', // magic "\0asm"
	0x01, 0x00, 0x00, 0x00, // version 1
}

// Section ids.
const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secTable     = 4
	secMemory    = 5
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secElement   = 9
	secCode      = 10
	secData      = 11
	secDataCount = 12
)

// Types, kinds and opcodes.
const (
	i32     = 0x7f
	i64     = 0x7e
	funcref = 0x70
	empty   = 0x40 // block type of a block without parameters or results
	fn      = 0x60 // function type: params, results

	kindFunc   = 0x00
	kindGlobal = 0x03

	opNop      = 0x01
	opBlock    = 0x02
	opLoop     = 0x03
	opIf       = 0x04
	opElse     = 0x05
	opEnd      = 0x0b
	opBr       = 0x0c
	opBrIf     = 0x0d
	opBrTable  = 0x0e
	opCallInd  = 0x11
	opDrop     = 0x1a
	opSelectT  = 0x1c
	opLocalGet = 0x20
	opLocalSet = 0x21
	opLocalTee = 0x22
	opGlobGet  = 0x23
	opGlobSet  = 0x24
	opI64Load  = 0x29
	opI32Load8 = 0x2c // i32.load8_s
	opI32Store = 0x36
	opMemSize  = 0x3f
	opMemGrow  = 0x40
	opI32Const = 0x41
	opI64Const = 0x42
	opF32Const = 0x43
	opF64Const = 0x44
	opI32Eqz   = 0x45
	opI32Add   = 0x6a
	opI32Sub   = 0x6b
	opI32RemU  = 0x70
	opI64Add   = 0x7c
	opI64Mul   = 0x7e
	opI64Xor   = 0x85
	opI64ExtS  = 0xac // i64.extend_i32_s
	opI64ExtU  = 0xad // i64.extend_i32_u
	opI32Ext8  = 0xc0 // i32.extend8_s
	opI64Ext32 = 0xc4 // i64.extend32_s
	opRefNull  = 0xd0
	opRefIsNul = 0xd1
	opPrefixFC = 0xfc // then: 1 i32.trunc_sat_f32_u, 6 i64.trunc_sat_f64_s, 8 memory.init, 9 data.drop, 10 memory.copy, 11 memory.fill, 16 table.size
)

func leb(v int) []byte {
	var b []byte
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func sec(id byte, contents ...[]byte) []byte {
	c := cat(contents...)
	return cat([]byte{id}, leb(len(c)), c)
}

func vec(items ...[]byte) []byte { return cat(leb(len(items)), cat(items...)) }

func name(s string) []byte { return cat(leb(len(s)), []byte(s)) }

// body is a function body entry: size, then locals and code.
func body(locals []byte, code ...byte) []byte {
	b := cat(locals, code)
	return cat(leb(len(b)), b)
}

func module(sections ...[]byte) []byte { return cat(header, cat(sections...)) }

var noLocals = []byte{0}

// countdown is a do-while loop over local 0: the header runs once on
// entry and once per taken br_if, N times for N ≥ 1.
var countdown = []byte{
	opLoop, empty,
	opLocalGet, 0, opI32Const, 1, opI32Sub, opLocalTee, 0, // n--
	opBrIf, 0, // back to the loop while n != 0
	opEnd,
}

// oneFunc returns a module exporting a single function "run" of type ft
// with body b.
func oneFunc(ft, b []byte, more ...[]byte) []byte {
	return module(append([][]byte{
		sec(secType, vec(ft)),
		sec(secFunction, vec([]byte{0})),
		sec(secExport, vec(cat(name("run"), []byte{kindFunc, 0}))),
		sec(secCode, vec(b)),
	}, more...)...)
}

var (
	i32ToNone = []byte{fn, 1, i32, 0}
	i32ToI32  = []byte{fn, 1, i32, 1, i32}
)

// instance compiles and instantiates wasm (instrumented by the caller),
// after the modules in deps (name, wasm), with the compiler and the
// interruption checks the host uses.
func instance(t *testing.T, wasm []byte, deps ...any) api.Module {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler().WithCloseOnContextDone(true))
	t.Cleanup(func() { rt.Close(ctx) })
	for i := 0; i < len(deps); i += 2 {
		if _, err := rt.InstantiateWithConfig(ctx, deps[i+1].([]byte), wazero.NewModuleConfig().WithName(deps[i].(string))); err != nil {
			t.Fatal(err)
		}
	}
	mod, err := rt.InstantiateWithConfig(ctx, wasm, wazero.NewModuleConfig().WithName(""))
	if err != nil {
		t.Fatal(err)
	}
	return mod
}

func instrument(t *testing.T, wasm []byte) []byte {
	t.Helper()
	out, err := loopcount.Instrument(wasm)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// count returns the counter of an instrumented instance, checking that it
// is a mutable i64.
func count(t *testing.T, mod api.Module) uint64 {
	t.Helper()
	g := mod.ExportedGlobal(loopcount.Export)
	if g == nil {
		t.Fatalf("no global %s", loopcount.Export)
	}
	if _, ok := g.(api.MutableGlobal); !ok || g.Type() != api.ValueTypeI64 {
		t.Fatalf("%s is %s (mutable %v), want a mutable i64", loopcount.Export, api.ValueTypeName(g.Type()), ok)
	}
	return g.Get()
}

func call(t *testing.T, mod api.Module, name string, args ...uint64) []uint64 {
	t.Helper()
	res, err := mod.ExportedFunction(name).Call(context.Background(), args...)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// Modules with one function "run" for TestLoops.
var (
	// do-while: the header runs once on entry and once per taken br_if,
	// n times for n ≥ 1.
	doWhile = oneFunc(i32ToNone, body(noLocals, append(countdown, opEnd)...))

	// block { loop { if n == 0 break; n--; continue } }: the header runs
	// on entry and on each of the n back-edges; its last run leaves.
	while = oneFunc(i32ToNone, body(noLocals,
		opBlock, empty,
		opLoop, empty,
		opLocalGet, 0, opI32Eqz, opBrIf, 1, // leave the block when n == 0
		opLocalGet, 0, opI32Const, 1, opI32Sub, opLocalSet, 0, // n--
		opBr, 0, // back to the loop
		opEnd,
		opEnd,
		opEnd))

	// Nested do-while loops: the outer header runs n times, the inner 4
	// times per outer iteration.
	nested = oneFunc(i32ToNone, body([]byte{1, 1, i32}, // one declaration: 1 local of type i32 (local 1)
		opLoop, empty, // outer
		opI32Const, 4, opLocalSet, 1,
		opLoop, empty, // inner
		opLocalGet, 1, opI32Const, 1, opI32Sub, opLocalTee, 1,
		opBrIf, 0,
		opEnd,
		opLocalGet, 0, opI32Const, 1, opI32Sub, opLocalTee, 0,
		opBrIf, 0,
		opEnd,
		opEnd))

	// A loop whose block type is a type index (an s33): type 1, (i32) ->
	// (i32), takes n as its parameter; the function returns the final
	// n-1, 0.
	typeIndexBlock = module(
		sec(secType, vec(i32ToI32, []byte{fn, 1, i32, 1, i32})),
		sec(secFunction, vec([]byte{0})),
		sec(secExport, vec(cat(name("run"), []byte{kindFunc, 0}))),
		sec(secCode, vec(body(noLocals,
			opLocalGet, 0,
			opLoop, 1, // block type: type 1
			opI32Const, 1, opI32Sub, opLocalTee, 0, // n-1, the branch's argument
			opLocalGet, 0, opBrIf, 0,
			opEnd,
			opEnd))),
	)

	// A loop with a result type (i32); returns the final n, 0.
	valueBlock = oneFunc(i32ToI32, body(noLocals,
		opLoop, i32,
		opLocalGet, 0, opI32Const, 1, opI32Sub, opLocalTee, 0, // the result when leaving
		opLocalGet, 0, opBrIf, 0, // taking the branch drops it
		opEnd,
		opEnd))

	// 110 nops make the body 124 bytes, the 7 added bytes push it past
	// 127: its size (and the section's) becomes a 2-byte LEB128.
	longBody = oneFunc(i32ToNone, body(noLocals, cat(bytes.Repeat([]byte{opNop}, 110), countdown, []byte{opEnd})...))

	// 200 i32 globals: the counter's index, 200, is a 2-byte LEB128 (0xc8
	// 0x01) in global.get/set and in its export.
	manyGlobals = module(
		sec(secType, vec(i32ToNone)),
		sec(secFunction, vec([]byte{0})),
		sec(secGlobal, vec(repeat(200, []byte{i32, 0, opI32Const, 0, opEnd})...)), // immutable i32 = 0
		sec(secExport, vec(cat(name("run"), []byte{kindFunc, 0}))),
		sec(secCode, vec(body(noLocals, append(countdown, opEnd)...))),
	)
)

func repeat(n int, b []byte) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}

// TestLoops calls "run" with n on an instrumented module and checks the
// counter against the loop-header executions the WebAssembly semantics
// give.
func TestLoops(t *testing.T) {
	for _, tc := range []struct {
		name   string
		wasm   []byte
		n      uint64
		want   uint64   // loop-header executions of run(n)
		result []uint64 // run(n)'s results, when checked
	}{
		{"do-while/1", doWhile, 1, 1, nil},
		{"do-while/2", doWhile, 2, 2, nil},
		{"do-while/1000", doWhile, 1000, 1000, nil},
		{"while/0", while, 0, 1, nil},
		{"while/1", while, 1, 2, nil},
		{"while/10", while, 10, 11, nil},
		{"nested/1", nested, 1, 1 + 4, nil},
		{"nested/3", nested, 3, 3 + 3*4, nil},
		{"type-index block type", typeIndexBlock, 6, 6, []uint64{0}},
		{"value block type", valueBlock, 5, 5, []uint64{0}},
		{"long body", longBody, 7, 7, nil},
		{"counter index 200", manyGlobals, 9, 9, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mod := instance(t, instrument(t, tc.wasm))
			if c := count(t, mod); c != 0 {
				t.Fatalf("counter %d before any call", c)
			}
			res := call(t, mod, "run", tc.n)
			if c := count(t, mod); c != tc.want {
				t.Errorf("run(%d): %d loop headers, want %d", tc.n, c, tc.want)
			}
			if tc.result != nil && fmt.Sprint(res) != fmt.Sprint(tc.result) {
				t.Errorf("run(%d) = %v, want %v", tc.n, res, tc.result)
			}
			// The counter accumulates over calls.
			call(t, mod, "run", tc.n)
			if c := count(t, mod); c != 2*tc.want {
				t.Errorf("after a second run(%d): %d loop headers, want %d", tc.n, c, 2*tc.want)
			}
		})
	}
}

// sectionIDs returns the ids of the sections of wasm, in order.
func sectionIDs(t *testing.T, wasm []byte) []byte {
	t.Helper()
	var ids []byte
	for b := wasm[len(header):]; len(b) > 0; {
		id := b[0]
		size, n := binary.Uvarint(b[1:])
		if n <= 0 || uint64(len(b)-1-n) < size {
			t.Fatalf("bad section at %d", len(wasm)-len(b))
		}
		ids = append(ids, id)
		b = b[1+n+int(size):]
	}
	return ids
}

// TestNoGlobalsNoExports instruments a module without global and export
// sections: a start function runs a loop 5 times. Both sections are
// created, in order (before the start section), and the custom sections
// stay where they are.
func TestNoGlobalsNoExports(t *testing.T) {
	first := sec(secCustom, name("first"), []byte("kept"))
	last := sec(secCustom, name("last"), []byte{1, 2, 3})
	wasm := module(
		first,
		sec(secType, vec([]byte{fn, 0, 0})), // type 0: () -> ()
		sec(secFunction, vec([]byte{0})),
		sec(secStart, leb(0)), // start: function 0
		sec(secCode, vec(body([]byte{1, 1, i32}, // local 0: i32
			opI32Const, 5, opLocalSet, 0,
			opLoop, empty,
			opLocalGet, 0, opI32Const, 1, opI32Sub, opLocalTee, 0,
			opBrIf, 0,
			opEnd,
			opEnd))),
		last,
	)
	out := instrument(t, wasm)
	want := []byte{secCustom, secType, secFunction, secGlobal, secExport, secStart, secCode, secCustom}
	if got := sectionIDs(t, out); !bytes.Equal(got, want) {
		t.Errorf("sections %v, want %v", got, want)
	}
	if !bytes.HasPrefix(out, cat(header, first)) || !bytes.HasSuffix(out, last) {
		t.Error("custom sections not kept in place")
	}
	// The new sections: one mutable i64 = 0, exported as global 0.
	if !bytes.Contains(out, sec(secGlobal, vec([]byte{i64, 1, opI64Const, 0, opEnd}))) {
		t.Error("no global section with the counter alone")
	}
	if !bytes.Contains(out, sec(secExport, vec(cat(name(loopcount.Export), []byte{kindGlobal, 0})))) {
		t.Error("no export section with the counter alone")
	}
	if c := count(t, instance(t, out)); c != 5 {
		t.Errorf("start function: %d loop headers, want 5", c)
	}
}

// TestImportedGlobal instruments a module that imports a global: the
// counter's index is imported globals + defined globals, 1 + 1 = 2. run
// loops over the imported global (7) and counts its iterations in its own
// global 1, exported as "iters".
func TestImportedGlobal(t *testing.T) {
	env := module(
		sec(secGlobal, vec([]byte{i32, 0, opI32Const, 7, opEnd})), // immutable i32 = 7
		sec(secExport, vec(cat(name("n"), []byte{kindGlobal, 0}))),
	)
	wasm := module(
		sec(secType, vec([]byte{fn, 0, 0})),
		sec(secImport, vec(cat(name("env"), name("n"), []byte{kindGlobal, i32, 0}))), // global 0
		sec(secFunction, vec([]byte{0})),
		sec(secGlobal, vec([]byte{i32, 1, opI32Const, 0, opEnd})), // global 1: mutable i32 = 0
		sec(secExport, vec(
			cat(name("run"), []byte{kindFunc, 0}),
			cat(name("iters"), []byte{kindGlobal, 1}),
		)),
		sec(secCode, vec(body([]byte{1, 1, i32},
			opGlobGet, 0, opLocalSet, 0,
			opLoop, empty,
			opGlobGet, 1, opI32Const, 1, opI32Add, opGlobSet, 1, // iters++
			opLocalGet, 0, opI32Const, 1, opI32Sub, opLocalTee, 0,
			opBrIf, 0,
			opEnd,
			opEnd))),
	)
	out := instrument(t, wasm)
	// The export refers to global 2, and the loop starts with global.get
	// 2; i64.const 1; i64.add; global.set 2.
	if !bytes.Contains(out, cat(name(loopcount.Export), []byte{kindGlobal, 2})) {
		t.Error("counter not exported as global 2")
	}
	if !bytes.Contains(out, []byte{opLoop, empty, opGlobGet, 2, opI64Const, 1, opI64Add, opGlobSet, 2, opGlobGet, 1}) {
		t.Error("loop does not start with the increment of global 2")
	}
	mod := instance(t, out, "env", env)
	call(t, mod, "run")
	if it := mod.ExportedGlobal("iters").Get(); it != 7 {
		t.Errorf("iters = %d, want 7", it)
	}
	if c := count(t, mod); c != 7 {
		t.Errorf("%d loop headers, want 7", c)
	}
}

// coverage is a module whose function run(n) uses the instructions of
// Go's wasm output beyond the loops above: bulk memory, saturating
// truncation, sign extension, float constants, memory.size/grow, loads and
// stores, br_table, call_indirect, typed select, if/else, reference and
// table instructions, with a data count section and a passive data
// segment. Its loop runs n times; a second function doubles an i64 (for
// call_indirect), the start function initializes memory from the data
// segment.
func coverage() []byte {
	f64 := binary.LittleEndian.AppendUint64([]byte{opF64Const}, math.Float64bits(1e300))
	f32 := binary.LittleEndian.AppendUint32([]byte{opF32Const}, math.Float32bits(-1))
	run := cat([]byte{
		1, 1, i64, // local 1: i64 acc
		// memory.fill(0, 0xab, 16); memory.copy(16, 0, 16)
		opI32Const, 0, opI32Const, 0xab, 0x01, opI32Const, 16, opPrefixFC, 11, 0,
		opI32Const, 16, opI32Const, 0, opI32Const, 16, opPrefixFC, 10, 0, 0,
		opLoop, empty,
		opBlock, empty, // $b1
		opBlock, empty, // $b0
		opLocalGet, 0, opI32Const, 3, opI32RemU,
		opBrTable, 2, 0, 1, 1, // n%3: 0 → end of $b0, else end of $b1
		opEnd,
		// n%3 == 0: acc += i64.load offset=16 (0xabab…ab)
		opLocalGet, 1, opI32Const, 0, opI64Load, 3, 16, opI64Add, opLocalSet, 1,
		opEnd,
		// acc += i64.extend32_s(0x80000000), -2³¹; the constant is a
		// 5-byte LEB128
		opLocalGet, 1, opI64Const, 0x80, 0x80, 0x80, 0x80, 0x08, opI64Ext32, opI64Add, opLocalSet, 1,
		opLocalGet, 0, opI32Const, 1, opI32Sub, opLocalTee, 0,
		opBrIf, 0,
		opEnd,
		opLocalGet, 1,
	},
		// ^ i64.trunc_sat_f64_s(1e300), the largest i64
		f64, []byte{opPrefixFC, 6, opI64Xor},
		// + i32.trunc_sat_f32_u(-1), 0
		f32, []byte{opPrefixFC, 1, opI64ExtU, opI64Add},
		[]byte{
			// + i32.extend8_s(i32.load8_s(32)), the data segment's 0x80
			opI32Const, 32, opI32Load8, 0, 0, opI32Ext8, opI64ExtS, opI64Add,
			// call_indirect of table element 0 (double), type 1
			opI32Const, 0, opCallInd, 1, 0,
			// select (result i64) with memory.size (1) as condition
			opI64Const, 7, opMemSize, 0, opSelectT, 1, i64,
			// memory.grow(0), dropped; store 99 at 40
			opI32Const, 0, opMemGrow, 0, opDrop,
			opI32Const, 40, opI32Const, 99, opI32Store, 2, 0,
			// + table.size 0 (1) + ref.is_null(ref.null func) (1)
			opPrefixFC, 16, 0, opI64ExtU, opI64Add,
			opRefNull, funcref, opRefIsNul, opI64ExtU, opI64Add,
			// + (n == 0 ? 1 : 2)
			opLocalGet, 0, opIf, i64, opI64Const, 2, opElse, opI64Const, 1, opEnd, opI64Add,
			opEnd,
		})
	double := []byte{0, opLocalGet, 0, opI64Const, 2, opI64Mul, opEnd}
	// the start function: memory.init(32, 0, 4) of data segment 0;
	// data.drop 0
	start := []byte{0,
		opI32Const, 32, opI32Const, 0, opI32Const, 4, opPrefixFC, 8, 0, 0,
		opPrefixFC, 9, 0,
		opEnd,
	}
	return module(
		sec(secType, vec(
			[]byte{fn, 1, i32, 1, i64}, // type 0: (i32) -> (i64)
			[]byte{fn, 1, i64, 1, i64}, // type 1: (i64) -> (i64)
			[]byte{fn, 0, 0},           // type 2: () -> ()
		)),
		sec(secFunction, vec([]byte{0}, []byte{1}, []byte{2})),
		sec(secTable, vec([]byte{funcref, 0x00, 1})), // funcref, minimum 1
		sec(secMemory, vec([]byte{0x00, 1})),         // minimum 1 page
		sec(secExport, vec(cat(name("run"), []byte{kindFunc, 0}))),
		sec(secStart, leb(2)),
		// active segment of table 0 at i32.const 0: function 1
		sec(secElement, vec([]byte{0x00, opI32Const, 0, opEnd, 1, 1})),
		sec(secDataCount, leb(1)),
		sec(secCode, vec(cat(leb(len(run)), run), cat(leb(len(double)), double), cat(leb(len(start)), start))),
		sec(secData, vec(cat([]byte{0x01}, vec([]byte{0x80}, []byte{1}, []byte{2}, []byte{3})))), // passive: 80 01 02 03
		sec(secCustom, name("after data"), []byte{0xff}),
	)
}

// TestCoverage checks that the instrumented coverage module keeps its
// section order, computes what the original computes, and counts its
// loop's n headers.
func TestCoverage(t *testing.T) {
	wasm := coverage()
	out := instrument(t, wasm)
	want := []byte{secType, secFunction, secTable, secMemory, secGlobal, secExport, secStart, secElement, secDataCount, secCode, secData, secCustom}
	if got := sectionIDs(t, out); !bytes.Equal(got, want) {
		t.Errorf("sections %v, want %v", got, want)
	}
	orig, inst := instance(t, wasm), instance(t, out)
	// run(1), by hand: acc = -2³¹ = 0xffffffff80000000; ^ 0x7fff…ff =
	// 0x800000007fffffff; + 0; - 128 = 0x800000007fffff7f; * 2 =
	// 0xfffffefe (mod 2⁶⁴); select keeps it; + 1 + 1 + 1 (n is 0).
	if got := call(t, orig, "run", 1); got[0] != 0xffffff01 {
		t.Fatalf("original run(1) = %#x, want 0xffffff01", got[0])
	}
	orig = instance(t, wasm)
	var total uint64
	for n := uint64(1); n <= 6; n++ {
		want := call(t, orig, "run", n)
		if got := call(t, inst, "run", n); got[0] != want[0] {
			t.Errorf("run(%d) = %#x instrumented, %#x not", n, got[0], want[0])
		}
		total += n
		if c := count(t, inst); c != total {
			t.Errorf("after run(1..%d): %d loop headers, want %d", n, c, total)
		}
	}
}

// TestRefused checks that what Instrument cannot decode is an error naming
// the problem and its offset.
func TestRefused(t *testing.T) {
	// bad returns a module whose function body is nop nop nop, then op.
	bad := func(op ...byte) []byte {
		return oneFunc([]byte{fn, 0, 0}, body(noLocals, cat([]byte{opNop, opNop, opNop}, op, []byte{opEnd})...))
	}
	// at is the offset of op in bad(op...).
	at := func(op ...byte) int { return bytes.Index(bad(op...), []byte{opNop, opNop, opNop}) + 3 }
	for _, tc := range []struct {
		name string
		wasm []byte
		want string
	}{
		{"try (exception handling)", bad(0x06, empty), fmt.Sprintf("function body 0: unknown opcode 0x06 at offset %d", at(0x06, empty))},
		{"SIMD prefix", bad(0xfd, 12), fmt.Sprintf("unknown opcode 0xfd at offset %d", at(0xfd, 12))},
		{"atomics prefix", bad(0xfe, 0), fmt.Sprintf("unknown opcode 0xfe at offset %d", at(0xfe, 0))},
		{"0xfc 18", bad(opPrefixFC, 18), fmt.Sprintf("unknown opcode 0xfc 18 at offset %d", at(opPrefixFC, 18))},
		{"GC block type", bad(opBlock, 0x63, 0x70, opEnd), fmt.Sprintf("unknown block type 0x63 at offset %d", at(opBlock)+1)},
		{"branch too far", bad(opBr, 1), fmt.Sprintf("branch at offset %d to label 1, only 1 open", at(opBr))},
		{"missing end", oneFunc([]byte{fn, 0, 0}, body(noLocals, opLoop, empty, opEnd)), "function body 0: function body ends without its end"},
		{"bytes after end", oneFunc([]byte{fn, 0, 0}, body(noLocals, opEnd, opNop)), "1 bytes after the function's end"},
		{"truncated", doWhile[:len(doWhile)-1], "runs past the end"},
		{"not wasm", []byte("\x00asm\x02\x00\x00\x00"), "not a WebAssembly version 1 module"},
		{"sections out of order", module(sec(secFunction, vec()), sec(secType, vec())), "section id 1 at offset 11 is out of order"},
		{"instrumented twice", instrumentOrNil(doWhile), "already exports " + loopcount.Export},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := loopcount.Instrument(tc.wasm)
			if err == nil {
				t.Fatalf("no error (%d bytes)", len(out))
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "loopcount: ") {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

func instrumentOrNil(wasm []byte) []byte {
	out, _ := loopcount.Instrument(wasm)
	return out
}
