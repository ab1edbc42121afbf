//go:build cgo

package wasmtime

import (
	"fmt"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/imports"
)

// hostState is what one instance's imports use. It holds no reference to
// the store, so an Instance dropped without Close can still be finalized.
type hostState struct {
	env   *imports.Env
	mem   *wasmtime.Memory
	fast  *fastCall // nil until instantiation is done
	fault error     // the panic of the import that trapped, until taken
	res   [1]wasmtime.Val

	// The import running now (imports do not nest) and the memory it
	// sees, fetched on its first use.
	caller *wasmtime.Caller
	data   []byte
	loaded bool
}

// takeFault returns and clears the recorded fault.
func (h *hostState) takeFault() error {
	f := h.fault
	h.fault = nil
	return f
}

// hostFunc implements one import: it reads its arguments from args and
// returns its result (ignored for log).
type hostFunc func(h *hostState, args []wasmtime.Val) int64

// memory returns the guest memory as the running import sees it.
func (h *hostState) memory() []byte {
	if !h.loaded {
		switch {
		case h.fast != nil:
			h.data = h.fast.memory(h.caller)
		case h.mem != nil:
			h.data = h.mem.UnsafeData(h.caller)
		default: // an import called before instantiation finished
			ext := h.caller.GetExport(abi.ExportMemory)
			if ext == nil || ext.Memory() == nil {
				imports.Faultf("import called by a module without memory")
			}
			h.data = ext.Memory().UnsafeData(h.caller)
		}
		h.loaded = true
	}
	return h.data
}

// view returns the guest memory [ptr, ptr+n), or faults the instance when
// any of it lies outside memory. The slice aliases guest memory.
func (h *hostState) view(ptr, n wasmtime.Val) []byte {
	m := h.memory()
	p, l := uint64(uint32(ptr.I32())), uint64(uint32(n.I32()))
	if p+l > uint64(len(m)) {
		imports.Faultf("pointer 0x%x length %d outside memory of %d bytes", p, l, len(m))
	}
	return m[p : p+l : p+l]
}

func (h *hostState) record(ptr wasmtime.Val) *[abi.RecordSize]byte {
	return (*[abi.RecordSize]byte)(h.view(ptr, wasmtime.ValI32(abi.RecordSize)))
}

var hostFuncs = map[string]hostFunc{
	abi.ImportRandom: func(h *hostState, a []wasmtime.Val) int64 {
		return int64(h.env.Random(h.view(a[0], a[1])))
	},
	abi.ImportPageLock: func(h *hostState, a []wasmtime.Val) int64 {
		return int64(h.env.PageLock(a[0].I32(), uint32(a[1].I32())))
	},
	abi.ImportPageUnlock: func(h *hostState, a []wasmtime.Val) int64 {
		return int64(h.env.PageUnlock(a[0].I32(), uint32(a[1].I32())))
	},
	abi.ImportRecordRead: func(h *hostState, a []wasmtime.Val) int64 {
		return int64(h.env.RecordRead(a[0].I32(), uint32(a[1].I32()), h.record(a[2])))
	},
	abi.ImportRecordWrite: func(h *hostState, a []wasmtime.Val) int64 {
		return int64(h.env.RecordWrite(a[0].I32(), uint32(a[1].I32()), h.record(a[2])))
	},
	abi.ImportFileRead: func(h *hostState, a []wasmtime.Val) int64 {
		n, e := h.env.FileRead(abi.Dir(a[0].I32()), h.view(a[1], a[2]), h.view(a[3], a[4]))
		if e != abi.OK {
			return int64(e)
		}
		return int64(n)
	},
	abi.ImportFileWrite: func(h *hostState, a []wasmtime.Val) int64 {
		return int64(h.env.FileWrite(abi.Dir(a[0].I32()), h.view(a[1], a[2]), h.view(a[3], a[4])))
	},
	abi.ImportTimeNow: func(h *hostState, a []wasmtime.Val) int64 {
		return h.env.TimeNow()
	},
	abi.ImportLog: func(h *hostState, a []wasmtime.Val) int64 {
		h.env.Log(abi.LogLevel(a[0].I32()), h.view(a[1], a[2])) // the whole pair must be in memory
		return 0
	},
	abi.ImportAESCTR: func(h *hostState, a []wasmtime.Val) int64 {
		key, iv, buf := h.view(a[0], a[1]), h.view(a[2], wasmtime.ValI32(abi.AESBlockSize)), h.view(a[3], a[4])
		h.env.AESCTR(key, (*[abi.AESBlockSize]byte)(iv), buf)
		return 0
	},
	abi.ImportSHA256: func(h *hostState, a []wasmtime.Val) int64 {
		data, out := h.view(a[0], a[1]), h.view(a[2], wasmtime.ValI32(abi.SHA256Size))
		h.env.SHA256(data, (*[abi.SHA256Size]byte)(out))
		return 0
	},
	abi.ImportHMACSHA256: func(h *hostState, a []wasmtime.Val) int64 {
		key, data, out := h.view(a[0], a[1]), h.view(a[2], a[3]), h.view(a[4], wasmtime.ValI32(abi.SHA256Size))
		h.env.HMACSHA256(key, data, (*[abi.SHA256Size]byte)(out))
		return 0
	},
}

// defineImports defines the raidakx imports in l (one instance's linker)
// over h. Each one checks every pointer against the memory and calls the
// instance's Env; a panic (an imports.Fault, or a bug) is recovered there
// and becomes a trap of the instance: wasmtime-go would otherwise carry it
// across the wasm frames and re-panic it in the caller of Func.Call.
func defineImports(l *wasmtime.Linker, h *hostState) error {
	for name, sig := range abi.Imports {
		fn := hostFuncs[name]
		if fn == nil {
			return fmt.Errorf("import %s not implemented", name)
		}
		var result wasmtime.ValKind = 0xff
		if len(sig.Results) == 1 {
			result = kind(sig.Results[0])
		}
		ty := wasmtime.NewFuncType(valTypes(sig.Params), valTypes(sig.Results))
		err := l.FuncNew(abi.ImportModule, name, ty, func(c *wasmtime.Caller, args []wasmtime.Val) (res []wasmtime.Val, trap *wasmtime.Trap) {
			h.caller, h.loaded = c, false
			defer func() {
				h.caller, h.data = nil, nil // c is only valid during the call
				if r := recover(); r != nil {
					switch r := r.(type) {
					case *imports.Fault:
						h.fault = r
					case error:
						h.fault = fmt.Errorf("raidakx: import %s panicked: %w", name, r)
					default:
						h.fault = fmt.Errorf("raidakx: import %s panicked: %v", name, r)
					}
					res, trap = nil, wasmtime.NewTrap(h.fault.Error())
				}
			}()
			v := fn(h, args)
			switch result {
			case wasmtime.KindI32:
				h.res[0] = wasmtime.ValI32(int32(v))
			case wasmtime.KindI64:
				h.res[0] = wasmtime.ValI64(v)
			default:
				return nil, nil
			}
			return h.res[:], nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func kind(t abi.ValueType) wasmtime.ValKind {
	if t == abi.I64 {
		return wasmtime.KindI64
	}
	return wasmtime.KindI32
}

func valTypes(ts []abi.ValueType) []*wasmtime.ValType {
	out := make([]*wasmtime.ValType, len(ts))
	for i, t := range ts {
		out[i] = wasmtime.NewValType(kind(t))
	}
	return out
}
