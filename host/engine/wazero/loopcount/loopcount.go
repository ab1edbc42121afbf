// Package loopcount instruments a WebAssembly module to count how many
// times its loop headers execute.
//
// It exists to measure interruption checks. The host runs the module under
// wazero with RuntimeConfig.WithCloseOnContextDone(true), and wazero's
// optimizing compiler then calls out of the compiled code at every loop
// header to check whether the module was closed. Go's wasm backend turns
// every jump between basic blocks into a br to a function-wide loop, so
// every taken jump and every loop iteration of the guest costs one such
// check. Instrument adds a counter that is incremented exactly where those
// checks are, so a request's number of checks can be read off exactly, with
// no timing noise.
//
// This is a measurement tool only: an instrumented module is slower and
// exports a global the ABI does not define, and must never be used to
// serve.
package loopcount

import (
	"bytes"
	"errors"
	"fmt"
)

// Export is the name under which an instrumented module exports its
// counter, a mutable i64 global: the number of loop-header executions
// since the instance was made.
const Export = "raidakx_loop_count"

// Section ids of the binary format.
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
	secTag       = 13 // exception handling: between memory and global
)

// sectionRank gives the position each known non-custom section must have
// in a module; 0 for an unknown id.
var sectionRank = map[byte]int{
	secType:      1,
	secImport:    2,
	secFunction:  3,
	secTable:     4,
	secMemory:    5,
	secTag:       6,
	secGlobal:    7,
	secExport:    8,
	secStart:     9,
	secElement:   10,
	secDataCount: 11,
	secCode:      12,
	secData:      13,
}

// Import and export kinds.
const (
	kindFunc   = 0x00
	kindTable  = 0x01
	kindMemory = 0x02
	kindGlobal = 0x03
	kindTag    = 0x04
)

// Value types.
const (
	typeI32       = 0x7f
	typeI64       = 0x7e
	typeF32       = 0x7d
	typeF64       = 0x7c
	typeV128      = 0x7b
	typeFuncref   = 0x70
	typeExternref = 0x6f
)

// Opcodes the instrumentation emits.
const (
	opLoop      = 0x03
	opEnd       = 0x0b
	opGlobalGet = 0x23
	opGlobalSet = 0x24
	opI64Const  = 0x42
	opI64Add    = 0x7c
)

var magic = []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}

// section is one section of the input: its id and contents, and where the
// contents start in the input, for error messages.
type section struct {
	id       byte
	contents []byte
	offset   int
}

// Instrument returns a copy of the module wasm in which a new mutable i64
// global, initially 0 and exported as Export, is incremented by one at the
// start of every loop body, right after the loop opcode and its block
// type:
//
//	global.get G; i64.const 1; i64.add; global.set G
//
// So after a run the global holds the number of times control entered a
// loop header (falling into the loop or branching back to it), which is
// the number of interruption checks wazero's compiler would have made.
//
// Nothing else changes: the new global is the last one, so no existing
// index moves, and every other byte of every section is kept. Instrument
// decodes every instruction of every function; it returns an error naming
// the offset for anything it does not know rather than risk a wrong
// rewrite.
func Instrument(wasm []byte) ([]byte, error) {
	out, err := instrument(wasm)
	if err != nil {
		return nil, fmt.Errorf("loopcount: %w", err)
	}
	return out, nil
}

func instrument(wasm []byte) ([]byte, error) {
	if len(wasm) < len(magic) || !bytes.Equal(wasm[:len(magic)], magic) {
		return nil, errors.New("not a WebAssembly version 1 module")
	}
	var sections []section
	lastRank := 0
	for r := (reader{b: wasm, pos: len(magic)}); !r.done(); {
		at := r.offset()
		id, err := r.byte()
		if err != nil {
			return nil, err
		}
		contents, err := r.bytes("section size")
		if err != nil {
			return nil, err
		}
		if id != secCustom {
			rank := sectionRank[id]
			if rank == 0 {
				return nil, fmt.Errorf("unknown section id %d at offset %d", id, at)
			}
			if rank <= lastRank {
				return nil, fmt.Errorf("section id %d at offset %d is out of order or repeated", id, at)
			}
			lastRank = rank
		}
		sections = append(sections, section{id: id, contents: contents, offset: r.offset() - len(contents)})
	}

	// The counter's index: imported globals come first, then the defined
	// ones, then the new global.
	var global uint32
	if s := find(sections, secImport); s != nil {
		n, err := importedGlobals(s)
		if err != nil {
			return nil, err
		}
		global = n
	}
	newGlobal := []byte{typeI64, 0x01, opI64Const, 0x00, opEnd} // mutable i64, i64.const 0
	if s := find(sections, secGlobal); s != nil {
		r := s.reader()
		n, err := r.u32("global count")
		if err != nil {
			return nil, err
		}
		if uint64(global)+uint64(n) >= 1<<32-1 {
			return nil, errors.New("too many globals")
		}
		global += n
		// The new global goes last, after the existing ones, which are
		// kept byte for byte.
		s.contents = append(append(appendU32(nil, n+1), r.rest()...), newGlobal...)
	} else {
		sections = insert(sections, section{id: secGlobal, contents: append([]byte{1}, newGlobal...)})
	}

	newExport := appendU32(append(appendName(nil, Export), kindGlobal), global)
	if s := find(sections, secExport); s != nil {
		n, rest, err := checkExports(s)
		if err != nil {
			return nil, err
		}
		s.contents = append(append(appendU32(nil, n+1), rest...), newExport...)
	} else {
		sections = insert(sections, section{id: secExport, contents: append([]byte{1}, newExport...)})
	}

	if s := find(sections, secCode); s != nil {
		code, err := instrumentCode(s, global)
		if err != nil {
			return nil, err
		}
		s.contents = code
	}

	n := len(magic)
	for _, s := range sections {
		n += 1 + 5 + len(s.contents)
	}
	out := append(make([]byte, 0, n), magic...)
	for _, s := range sections {
		out = append(out, s.id)
		out = appendU32(out, uint32(len(s.contents)))
		out = append(out, s.contents...)
	}
	return out, nil
}

func (s *section) reader() reader { return reader{b: s.contents, base: s.offset} }

// find returns the section with id (not custom), or nil.
func find(sections []section, id byte) *section {
	for i := range sections {
		if sections[i].id == id {
			return &sections[i]
		}
	}
	return nil
}

// insert adds s, a section absent from sections, right before the first
// non-custom section that must follow it, or at the end.
func insert(sections []section, s section) []section {
	i := len(sections)
	for j, t := range sections {
		if t.id != secCustom && sectionRank[t.id] > sectionRank[s.id] {
			i = j
			break
		}
	}
	return append(sections[:i], append([]section{s}, sections[i:]...)...)
}

// importedGlobals decodes the import section and returns how many globals
// it imports.
func importedGlobals(s *section) (uint32, error) {
	r := s.reader()
	n, err := r.u32("import count")
	if err != nil {
		return 0, err
	}
	var globals uint32
	for range n {
		if _, err := r.bytes("import module name"); err != nil {
			return 0, err
		}
		if _, err := r.bytes("import name"); err != nil {
			return 0, err
		}
		at := r.offset()
		kind, err := r.byte()
		if err != nil {
			return 0, err
		}
		switch kind {
		case kindFunc:
			_, err = r.u32("type index")
		case kindTable:
			if err = r.refType(); err == nil {
				err = r.limits()
			}
		case kindMemory:
			err = r.limits()
		case kindGlobal:
			globals++
			if err = r.valType(); err == nil {
				err = r.mutability()
			}
		case kindTag:
			if _, err = r.byte(); err == nil { // attribute
				_, err = r.u32("tag type index")
			}
		default:
			err = fmt.Errorf("unknown import kind %d at offset %d", kind, at)
		}
		if err != nil {
			return 0, err
		}
	}
	if !r.done() {
		return 0, fmt.Errorf("%d stray bytes after the imports at offset %d", len(r.b)-r.pos, r.offset())
	}
	return globals, nil
}

// checkExports decodes the export section and checks that nothing is
// exported as Export yet. It returns the number of exports and the bytes
// that follow the count.
func checkExports(s *section) (uint32, []byte, error) {
	r := s.reader()
	n, err := r.u32("export count")
	if err != nil {
		return 0, nil, err
	}
	rest := r.rest()
	for range n {
		at := r.offset()
		name, err := r.bytes("export name")
		if err != nil {
			return 0, nil, err
		}
		if string(name) == Export {
			return 0, nil, fmt.Errorf("the module already exports %s (offset %d): instrumented twice?", Export, at)
		}
		at = r.offset()
		kind, err := r.byte()
		if err != nil {
			return 0, nil, err
		}
		if kind > kindTag {
			return 0, nil, fmt.Errorf("unknown export kind %d at offset %d", kind, at)
		}
		if _, err := r.u32("export index"); err != nil {
			return 0, nil, err
		}
	}
	if !r.done() {
		return 0, nil, fmt.Errorf("%d stray bytes after the exports at offset %d", len(r.b)-r.pos, r.offset())
	}
	return n, rest, nil
}

// instrumentCode returns the contents of the code section s with the
// increment of global added to every loop of every function body.
func instrumentCode(s *section, global uint32) ([]byte, error) {
	r := s.reader()
	n, err := r.u32("function count")
	if err != nil {
		return nil, err
	}
	inc := appendU32([]byte{opGlobalGet}, global)
	inc = append(inc, opI64Const, 0x01, opI64Add, opGlobalSet)
	inc = appendU32(inc, global)

	out := appendU32(make([]byte, 0, len(s.contents)+len(s.contents)/4), n)
	var body []byte
	for i := range n {
		b, err := r.bytes("function body size")
		if err != nil {
			return nil, err
		}
		if body, err = instrumentBody(body[:0], b, r.offset()-len(b), inc); err != nil {
			return nil, fmt.Errorf("function body %d: %w", i, err)
		}
		out = appendU32(out, uint32(len(body)))
		out = append(out, body...)
	}
	if !r.done() {
		return nil, fmt.Errorf("%d stray bytes after the function bodies at offset %d", len(r.b)-r.pos, r.offset())
	}
	return out, nil
}

// Control frames of a function body.
const (
	frameFunc = iota
	frameBlock
	frameLoop
	frameIf
	frameElse
)

// instrumentBody appends to dst the function body b (which starts at
// offset base of the module) with inc after every loop's block type.
func instrumentBody(dst, b []byte, base int, inc []byte) ([]byte, error) {
	r := reader{b: b, base: base}
	decls, err := r.u32("local declaration count")
	if err != nil {
		return nil, err
	}
	for range decls {
		if _, err := r.u32("local count"); err != nil {
			return nil, err
		}
		if err := r.valType(); err != nil {
			return nil, err
		}
	}
	dst = append(dst, b[:r.pos]...)
	frames := []int{frameFunc}
	for len(frames) > 0 {
		start := r.pos
		if err := r.instruction(&frames); err != nil {
			return nil, err
		}
		dst = append(dst, b[start:r.pos]...)
		if b[start] == opLoop {
			dst = append(dst, inc...)
		}
	}
	if !r.done() {
		return nil, fmt.Errorf("%d bytes after the function's end at offset %d", len(r.b)-r.pos, r.offset())
	}
	return dst, nil
}

// frameOf is the frame that block, loop and if open.
var frameOf = [...]int{0x02: frameBlock, 0x03: frameLoop, 0x04: frameIf}

// instruction decodes one instruction and its immediates, keeping frames,
// the stack of open control frames, up to date.
func (r *reader) instruction(frames *[]int) error {
	at := r.offset()
	if r.done() {
		return fmt.Errorf("function body ends without its end at offset %d", at)
	}
	op, _ := r.byte()
	var err error
	switch {
	case op == 0x00, op == 0x01: // unreachable, nop
	case op == 0x02, op == 0x03, op == 0x04: // block, loop, if
		err = r.blockType()
		*frames = append(*frames, frameOf[op])
	case op == 0x05: // else
		if top := &(*frames)[len(*frames)-1]; *top == frameIf {
			*top = frameElse
		} else {
			err = fmt.Errorf("else outside an if at offset %d", at)
		}
	case op == opEnd:
		*frames = (*frames)[:len(*frames)-1]
	case op == 0x0c, op == 0x0d: // br, br_if
		err = r.label(len(*frames), at)
	case op == 0x0e: // br_table
		var n uint32
		if n, err = r.u32("br_table size"); err == nil {
			for i := uint32(0); i <= n && err == nil; i++ { // n targets, then the default
				err = r.label(len(*frames), at)
			}
		}
	case op == 0x0f: // return
	case op == 0x10, op == 0x12: // call, return_call
		_, err = r.u32("function index")
	case op == 0x11, op == 0x13: // call_indirect, return_call_indirect
		if _, err = r.u32("type index"); err == nil {
			_, err = r.u32("table index")
		}
	case op == 0x1a, op == 0x1b: // drop, select
	case op == 0x1c: // select with types
		var n uint32
		if n, err = r.u32("select type count"); err == nil {
			for i := uint32(0); i < n && err == nil; i++ {
				err = r.valType()
			}
		}
	case op >= 0x20 && op <= 0x24: // local.get/set/tee, global.get/set
		_, err = r.u32("variable index")
	case op == 0x25, op == 0x26: // table.get, table.set
		_, err = r.u32("table index")
	case op >= 0x28 && op <= 0x3e: // loads and stores
		err = r.memarg()
	case op == 0x3f, op == 0x40: // memory.size, memory.grow
		_, err = r.u32("memory index")
	case op == 0x41: // i32.const
		_, err = r.signed("i32 constant", 32)
	case op == opI64Const:
		_, err = r.signed("i64 constant", 64)
	case op == 0x43: // f32.const
		_, err = r.fixed(4)
	case op == 0x44: // f64.const
		_, err = r.fixed(8)
	case op >= 0x45 && op <= 0xc4: // numeric; 0xc0-0xc4 sign extension
	case op == 0xd0: // ref.null
		err = r.refType()
	case op == 0xd1: // ref.is_null
	case op == 0xd2: // ref.func
		_, err = r.u32("function index")
	case op == 0xfc:
		err = r.prefixFC(at)
	default:
		err = fmt.Errorf("unknown opcode 0x%02x at offset %d", op, at)
	}
	return err
}

// prefixFC decodes the rest of an instruction with prefix 0xfc, which
// starts at offset at.
func (r *reader) prefixFC(at int) error {
	sub, err := r.u32("0xfc sub-opcode")
	if err != nil {
		return err
	}
	// The index immediates of each sub-opcode.
	var n int
	switch {
	case sub <= 7: // i32/i64.trunc_sat_f32/f64_s/u
	case sub == 8: // memory.init data memory
		n = 2
	case sub == 9: // data.drop data
		n = 1
	case sub == 10: // memory.copy memory memory
		n = 2
	case sub == 11: // memory.fill memory
		n = 1
	case sub == 12: // table.init element table
		n = 2
	case sub == 13: // elem.drop element
		n = 1
	case sub == 14: // table.copy table table
		n = 2
	case sub >= 15 && sub <= 17: // table.grow, table.size, table.fill table
		n = 1
	default:
		return fmt.Errorf("unknown opcode 0xfc %d at offset %d", sub, at)
	}
	for range n {
		if _, err := r.u32("index"); err != nil {
			return err
		}
	}
	return nil
}

// reader decodes b, which starts at offset base of the module.
type reader struct {
	b    []byte
	pos  int
	base int
}

func (r *reader) offset() int  { return r.base + r.pos }
func (r *reader) done() bool   { return r.pos == len(r.b) }
func (r *reader) rest() []byte { return r.b[r.pos:] }
func (r *reader) eof() error   { return fmt.Errorf("unexpected end at offset %d", r.offset()) }

func (r *reader) byte() (byte, error) {
	if r.done() {
		return 0, r.eof()
	}
	r.pos++
	return r.b[r.pos-1], nil
}

func (r *reader) fixed(n int) ([]byte, error) {
	if len(r.b)-r.pos < n {
		return nil, r.eof()
	}
	r.pos += n
	return r.b[r.pos-n : r.pos], nil
}

// bytes decodes a length (what) and returns that many bytes.
func (r *reader) bytes(what string) ([]byte, error) {
	at := r.offset()
	n, err := r.u32(what)
	if err != nil {
		return nil, err
	}
	if uint64(n) > uint64(len(r.b)-r.pos) {
		return nil, fmt.Errorf("%s %d at offset %d runs past the end", what, n, at)
	}
	return r.fixed(int(n))
}

// u32 decodes an unsigned LEB128 number of at most 32 bits.
func (r *reader) u32(what string) (uint32, error) {
	v, err := r.unsigned(what, 32)
	return uint32(v), err
}

// unsigned decodes an unsigned LEB128 number of at most bits bits.
func (r *reader) unsigned(what string, bits uint) (uint64, error) {
	at := r.offset()
	var v uint64
	for shift := uint(0); ; shift += 7 {
		b, err := r.byte()
		if err != nil {
			return 0, err
		}
		if shift+7 > bits && (b&0x80 != 0 || uint64(b&0x7f)>>(bits-shift) != 0) {
			// The last byte: no continuation, no bits above the top one.
			return 0, fmt.Errorf("%s at offset %d does not fit in %d bits", what, at, bits)
		}
		v |= uint64(b&0x7f) << shift
		if b&0x80 == 0 {
			return v, nil
		}
	}
}

// signed decodes a signed LEB128 number of at most bits bits.
func (r *reader) signed(what string, bits uint) (int64, error) {
	at := r.offset()
	var v int64
	for shift := uint(0); ; shift += 7 {
		b, err := r.byte()
		if err != nil {
			return 0, err
		}
		if shift+7 >= bits {
			// The last byte: the bits above the top one must repeat the
			// sign.
			if b&0x80 != 0 {
				return 0, fmt.Errorf("%s at offset %d does not fit in %d bits", what, at, bits)
			}
			high := int8(b<<1) >> (bits - shift) // bits-shift-1 value bits, the sign and the rest
			if high != 0 && high != -1 {
				return 0, fmt.Errorf("%s at offset %d does not fit in %d bits", what, at, bits)
			}
		}
		v |= int64(b&0x7f) << shift
		if b&0x80 == 0 {
			if shift+7 < 64 && b&0x40 != 0 {
				v |= -1 << (shift + 7)
			}
			return v, nil
		}
	}
}

// blockType decodes a block type: empty (0x40), a value type, or a type
// index as a non-negative s33.
func (r *reader) blockType() error {
	at := r.offset()
	if r.done() {
		return r.eof()
	}
	switch r.b[r.pos] {
	case 0x40, typeI32, typeI64, typeF32, typeF64, typeV128, typeFuncref, typeExternref:
		r.pos++
		return nil
	}
	v, err := r.signed("block type", 33)
	if err != nil {
		return err
	}
	if v < 0 {
		return fmt.Errorf("unknown block type 0x%02x at offset %d", r.b[at-r.base], at)
	}
	return nil
}

// label decodes a branch target, which must be one of the depth open
// frames.
func (r *reader) label(depth int, at int) error {
	l, err := r.u32("label")
	if err == nil && uint64(l) >= uint64(depth) {
		err = fmt.Errorf("branch at offset %d to label %d, only %d open", at, l, depth)
	}
	return err
}

func (r *reader) memarg() error {
	align, err := r.u32("alignment")
	if err != nil {
		return err
	}
	if align&0x40 != 0 { // multi-memory: a memory index follows
		if _, err := r.u32("memory index"); err != nil {
			return err
		}
	}
	_, err = r.unsigned("offset", 64)
	return err
}

func (r *reader) valType() error {
	at := r.offset()
	t, err := r.byte()
	if err != nil {
		return err
	}
	switch t {
	case typeI32, typeI64, typeF32, typeF64, typeV128, typeFuncref, typeExternref:
		return nil
	}
	return fmt.Errorf("unknown value type 0x%02x at offset %d", t, at)
}

func (r *reader) refType() error {
	at := r.offset()
	t, err := r.byte()
	if err != nil {
		return err
	}
	if t != typeFuncref && t != typeExternref {
		return fmt.Errorf("unknown reference type 0x%02x at offset %d", t, at)
	}
	return nil
}

func (r *reader) mutability() error {
	at := r.offset()
	m, err := r.byte()
	if err == nil && m > 1 {
		err = fmt.Errorf("unknown mutability %d at offset %d", m, at)
	}
	return err
}

// limits decodes the limits of a table or memory: flags (bit 0: a maximum
// follows; bits 1 and 2: shared, 64-bit), minimum, maximum.
func (r *reader) limits() error {
	at := r.offset()
	flags, err := r.byte()
	if err != nil {
		return err
	}
	if flags > 7 {
		return fmt.Errorf("unknown limits flags 0x%02x at offset %d", flags, at)
	}
	if _, err := r.unsigned("minimum", 64); err != nil {
		return err
	}
	if flags&1 != 0 {
		_, err = r.unsigned("maximum", 64)
	}
	return err
}

func appendU32(b []byte, v uint32) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func appendName(b []byte, s string) []byte {
	return append(appendU32(b, uint32(len(s))), s...)
}
