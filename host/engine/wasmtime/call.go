//go:build cgo

package wasmtime

// The request path in one cgo call. wasmtime-go's Func.Call makes about a
// dozen cgo calls and eight allocations (with finalizers) per call, and
// Memory.UnsafeData four cgo calls; this does the copy in, the call of
// raidakx_handle and the copy out in C, with one crossing.
//
// It uses wasmtime's own C API, linked into the binary by wasmtime-go, and
// only values that wasmtime-go exports: Store.Context() (a stable pointer
// for the store's life) and the wasmtime_extern_t that Func.AsExtern and
// Memory.AsExtern return. The declarations below are those of wasmtime-go
// v39.0.1's headers (build/include/wasmtime/{extern,val,func,memory,
// error,trap}.h, wasm.h); the sizes are checked when the package starts.

/*
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdbool.h>

typedef struct wasmtime_context wasmtime_context_t;
typedef struct wasmtime_error wasmtime_error_t;
typedef struct wasm_trap_t wasm_trap_t;

// wasmtime_extern_t: a kind, then a union whose members (wasmtime_func_t,
// _global_t, _table_t, _memory_t, a pointer) are at most 24 bytes and
// 8-aligned. The union is kept whole and handed back by address, so only
// its offset and size matter, not its members' layout.
typedef struct { uint64_t words[3]; } rk_extern_union_t;
typedef struct { uint8_t kind; rk_extern_union_t of; } rk_extern_t;
typedef rk_extern_union_t rk_func_t;   // wasmtime_func_t, within the union
typedef rk_extern_union_t rk_memory_t; // wasmtime_memory_t, within the union
typedef union { int32_t i32; int64_t i64; uint8_t v128[16]; void *funcref; } rk_val_raw_t; // wasmtime_val_raw_t
typedef struct { size_t size; char *data; } rk_byte_vec_t;                  // wasm_byte_vec_t

extern wasmtime_error_t *wasmtime_func_call_unchecked(wasmtime_context_t *store, const rk_func_t *func,
	rk_val_raw_t *args_and_results, size_t args_and_results_len, wasm_trap_t **trap);
extern uint8_t *wasmtime_memory_data(const wasmtime_context_t *store, const rk_memory_t *memory);
extern size_t wasmtime_memory_data_size(const wasmtime_context_t *store, const rk_memory_t *memory);
extern void wasmtime_error_message(const wasmtime_error_t *error, rk_byte_vec_t *message);
extern void wasmtime_error_delete(wasmtime_error_t *error);
extern void wasm_trap_message(const wasm_trap_t *trap, rk_byte_vec_t *out);
extern void wasm_trap_delete(wasm_trap_t *trap);
extern bool wasmtime_trap_code(const wasm_trap_t *trap, uint8_t *code);
extern void wasm_byte_vec_delete(rk_byte_vec_t *vec);

#define RK_EXTERN_FUNC 0
#define RK_EXTERN_MEMORY 3

// rk_handle copies the request into guest memory at req_ptr, calls
// raidakx_handle(req_len) and copies min(n, resp_cap) bytes of the
// response at resp_ptr out. Both buffers were checked against memory at
// instantiation, and memory never shrinks.
static uint32_t rk_handle(wasmtime_context_t *ctx, const rk_func_t *fn, const rk_memory_t *mem,
		const uint8_t *req, uint32_t req_len, uint32_t req_ptr,
		uint8_t *resp, uint32_t resp_cap, uint32_t resp_ptr, uint32_t max_n,
		wasmtime_error_t **err, wasm_trap_t **trap) {
	memcpy(wasmtime_memory_data(ctx, mem) + req_ptr, req, req_len);
	rk_val_raw_t v[1];
	memset(v, 0, sizeof v);
	v[0].i32 = (int32_t)req_len;
	*trap = NULL;
	*err = wasmtime_func_call_unchecked(ctx, fn, v, 1, trap);
	if (*err != NULL || *trap != NULL) {
		return 0;
	}
	uint32_t n = (uint32_t)v[0].i32;
	if (n <= max_n) {
		memcpy(resp, wasmtime_memory_data(ctx, mem) + resp_ptr, n < resp_cap ? n : resp_cap);
	}
	return n;
}

// rk_memory returns the guest memory's base and size.
static uint8_t *rk_memory(wasmtime_context_t *ctx, const rk_memory_t *mem, size_t *size) {
	*size = wasmtime_memory_data_size(ctx, mem);
	return wasmtime_memory_data(ctx, mem);
}

// rk_trap takes the message (and code, or 0xff) of err or trap and frees
// it.
static void rk_trap(wasmtime_error_t *err, wasm_trap_t *trap, rk_byte_vec_t *msg, uint8_t *code) {
	*code = 0xff;
	if (err != NULL) {
		wasmtime_error_message(err, msg);
		wasmtime_error_delete(err);
	} else {
		wasm_trap_message(trap, msg);
		if (msg->size > 0 && msg->data[msg->size - 1] == 0) {
			msg->size--; // the message is NUL-terminated
		}
		if (!wasmtime_trap_code(trap, code)) {
			*code = 0xff;
		}
		wasm_trap_delete(trap);
	}
}
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// layoutErr is set when wasmtime-go's wasmtime_extern_t is not the one
// declared above: the fast path would then be unsound, so Compile refuses.
var layoutErr = func() error {
	var f *wasmtime.Func
	got, want := unsafe.Sizeof(f.AsExtern()), unsafe.Sizeof(C.rk_extern_t{})
	if got != want || want != 32 || unsafe.Offsetof(C.rk_extern_t{}.of) != 8 || unsafe.Sizeof(C.rk_val_raw_t{}) != 16 {
		return fmt.Errorf("wasmtime-go's wasmtime_extern_t has %d bytes, this package expects %d: check call.go against this wasmtime-go's headers", got, want)
	}
	return nil
}()

// fastCall is what rk_handle needs of an instance, taken once.
type fastCall struct {
	ctx *C.wasmtime_context_t
	fn  C.rk_func_t
	mem C.rk_memory_t
	// rk_handle's out parameters, here rather than on the stack so that
	// passing their addresses to C does not allocate.
	werr *C.wasmtime_error_t
	trap *C.wasm_trap_t
	size C.size_t // rk_memory's
}

// newFastCall takes the store's context and the raw values of the handle
// export and the memory.
func newFastCall(store *wasmtime.Store, handle *wasmtime.Func, mem *wasmtime.Memory) (*fastCall, error) {
	if layoutErr != nil {
		return nil, layoutErr
	}
	fext, mext := handle.AsExtern(), mem.AsExtern()
	f := (*C.rk_extern_t)(unsafe.Pointer(&fext))
	m := (*C.rk_extern_t)(unsafe.Pointer(&mext))
	if f.kind != C.RK_EXTERN_FUNC || m.kind != C.RK_EXTERN_MEMORY {
		return nil, fmt.Errorf("unexpected extern kinds %d, %d", f.kind, m.kind)
	}
	fc := &fastCall{ctx: (*C.wasmtime_context_t)(unsafe.Pointer(store.Context()))}
	fc.fn, fc.mem = f.of, m.of
	return fc, nil
}

// handle runs rk_handle. It returns the response length; err is the trap
// or error of the call, with its trap code (0xff when none).
func (fc *fastCall) handle(req, resp []byte, reqPtr, respPtr uint32, maxN uint32) (uint32, *trapError) {
	var reqp, respp *C.uint8_t
	if len(req) > 0 {
		reqp = (*C.uint8_t)(unsafe.Pointer(&req[0]))
	}
	if len(resp) > 0 {
		respp = (*C.uint8_t)(unsafe.Pointer(&resp[0]))
	}
	n := C.rk_handle(fc.ctx, &fc.fn, &fc.mem, reqp, C.uint32_t(len(req)), C.uint32_t(reqPtr),
		respp, C.uint32_t(len(resp)), C.uint32_t(respPtr), C.uint32_t(maxN), &fc.werr, &fc.trap)
	if fc.werr == nil && fc.trap == nil {
		return uint32(n), nil
	}
	var msg C.rk_byte_vec_t
	var code C.uint8_t
	C.rk_trap(fc.werr, fc.trap, &msg, &code)
	fc.werr, fc.trap = nil, nil
	e := &trapError{msg: C.GoStringN(msg.data, C.int(msg.size)), code: uint8(code)}
	C.wasm_byte_vec_delete(&msg)
	return 0, e
}

// memory returns the guest memory as the caller of an import sees it.
func (fc *fastCall) memory(c *wasmtime.Caller) []byte {
	base := C.rk_memory((*C.wasmtime_context_t)(unsafe.Pointer(c.Context())), &fc.mem, &fc.size)
	return unsafe.Slice((*byte)(unsafe.Pointer(base)), int(fc.size))
}

// trapError is a trap, or an error such as a WASI exit, of raidakx_handle.
type trapError struct {
	msg  string
	code uint8 // Wasmtime's C trap code, 0xff when there is none
}

func (e *trapError) Error() string { return e.msg }

// Code returns the trap code as the C API numbers it (wasmtime/trap.h),
// and whether there is one.
func (e *trapError) Code() (uint8, bool) { return e.code, e.code != 0xff }
