"""_wasmtime binds the few functions of Wasmtime's C API that the host uses,
with ctypes, as the `wasmtime` package on PyPI does: that package cannot be
installed where PyPI is not reachable, while the C library ships in the Go
module the Go engine already pins (wasmtime-go v39.0.1, C API 39.0.0), so
every host of this repository runs the same Wasmtime.

The library is $RAIDAKX_LIBWASMTIME, else build/libwasmtime.so of the
repository (`make build.libwasmtime` links it from wasmtime-go's
libwasmtime.a). The structures below copy the x86-64/aarch64 layouts of
the headers in wasmtime-go's build/include; tests/test_binding.py compiles
those headers and compares every size and offset.
"""

import ctypes
import os
from ctypes import (CFUNCTYPE, POINTER, Structure, Union, byref, c_bool, c_char_p, c_double, c_float, c_int64,
                    c_int32, c_size_t, c_ssize_t, c_uint8, c_uint32, c_uint64, c_void_p)

WASMTIME_GO = "39.0.1"  # the wasmtime-go release whose library this binds (go.mod)
C_API = "39.0.0"  # WASMTIME_VERSION in that release's wasmtime.h

ENV_LIBRARY = "RAIDAKX_LIBWASMTIME"
DEFAULT_LIBRARY = os.path.join(os.path.dirname(__file__), "..", "..", "..", "build", "libwasmtime.so")

# wasm_valkind_t and wasmtime_valkind_t agree on these two.
I32, I64 = 0, 1
VALKIND_NAMES = {0: "i32", 1: "i64", 2: "f32", 3: "f64", 4: "v128", 128: "externref", 129: "funcref"}
EXTERN_FUNC, EXTERN_MEMORY = 0, 3  # wasm_externkind_t and wasmtime_extern_kind_t
TRAP_CODE_INTERRUPT = 10  # WASMTIME_TRAP_CODE_INTERRUPT


class ByteVec(Structure):  # wasm_byte_vec_t, wasm_name_t, wasm_message_t
    _fields_ = [("size", c_size_t), ("data", POINTER(c_uint8))]

    def bytes(self):
        return ctypes.string_at(self.data, self.size) if self.size else b""


class PtrVec(Structure):  # wasm_importtype_vec_t, wasm_exporttype_vec_t, wasm_valtype_vec_t
    _fields_ = [("size", c_size_t), ("data", POINTER(c_void_p))]


class Func(Structure):  # wasmtime_func_t
    _fields_ = [("store_id", c_uint64), ("private", c_void_p)]


class _MemoryHead(Structure):  # the anonymous struct that starts wasmtime_memory_t
    _fields_ = [("store_id", c_uint64), ("private1", c_uint32)]


class Memory(Structure):  # wasmtime_memory_t (and wasmtime_table_t): 24 bytes, not 16
    _anonymous_ = ("head",)
    _fields_ = [("head", _MemoryHead), ("private2", c_uint32)]


class Global(Structure):  # wasmtime_global_t
    _fields_ = [("store_id", c_uint64), ("private1", c_uint32), ("private2", c_uint32), ("private3", c_uint32)]


class ExternUnion(Union):  # wasmtime_extern_union_t
    _fields_ = [("func", Func), ("global_", Global), ("table", Memory), ("memory", Memory),
                ("sharedmemory", c_void_p)]


class Extern(Structure):  # wasmtime_extern_t
    _fields_ = [("kind", c_uint8), ("of", ExternUnion)]


class Ref(Structure):  # wasmtime_anyref_t, wasmtime_externref_t
    _fields_ = [("store_id", c_uint64), ("private1", c_uint32), ("private2", c_uint32), ("private3", c_void_p)]


class ValUnion(Union):  # wasmtime_valunion_t
    _fields_ = [("i32", c_int32), ("i64", c_int64), ("f32", c_float), ("f64", c_double), ("anyref", Ref),
                ("externref", Ref), ("funcref", Func), ("v128", c_uint8 * 16)]


class Val(Structure):  # wasmtime_val_t
    _fields_ = [("kind", c_uint8), ("of", ValUnion)]


class Instance(Structure):  # wasmtime_instance_t
    _fields_ = [("store_id", c_uint64), ("private", c_size_t)]


# wasmtime_func_callback_t: (env, caller, args, nargs, results, nresults) -> wasm_trap_t*
FuncCallback = CFUNCTYPE(c_void_p, c_void_p, c_void_p, POINTER(Val), c_size_t, POINTER(Val), c_size_t)
# The stderr callback of wasi_config_set_stderr_custom: (data, buf, len) -> bytes written.
WriteCallback = CFUNCTYPE(c_ssize_t, c_void_p, POINTER(c_uint8), c_size_t)

_P = c_void_p
_SIGNATURES = {
    # name: (result, argument types)
    "wasm_byte_vec_delete": (None, [POINTER(ByteVec)]),
    "wasm_config_new": (_P, []),
    "wasmtime_config_epoch_interruption_set": (None, [_P, c_bool]),
    "wasm_engine_new_with_config": (_P, [_P]),
    "wasm_engine_delete": (None, [_P]),
    "wasmtime_engine_increment_epoch": (None, [_P]),
    "wasmtime_error_message": (None, [_P, POINTER(ByteVec)]),
    "wasmtime_error_delete": (None, [_P]),
    "wasm_trap_message": (None, [_P, POINTER(ByteVec)]),
    "wasm_trap_delete": (None, [_P]),
    "wasmtime_trap_new": (_P, [c_char_p, c_size_t]),
    "wasmtime_trap_code": (c_bool, [_P, POINTER(c_uint8)]),
    "wasmtime_wat2wasm": (_P, [c_char_p, c_size_t, POINTER(ByteVec)]),
    "wasmtime_module_new": (_P, [_P, c_char_p, c_size_t, POINTER(_P)]),
    "wasmtime_module_delete": (None, [_P]),
    "wasmtime_module_imports": (None, [_P, POINTER(PtrVec)]),
    "wasmtime_module_exports": (None, [_P, POINTER(PtrVec)]),
    "wasm_importtype_vec_delete": (None, [POINTER(PtrVec)]),
    "wasm_exporttype_vec_delete": (None, [POINTER(PtrVec)]),
    "wasm_importtype_module": (POINTER(ByteVec), [_P]),
    "wasm_importtype_name": (POINTER(ByteVec), [_P]),
    "wasm_importtype_type": (_P, [_P]),
    "wasm_exporttype_name": (POINTER(ByteVec), [_P]),
    "wasm_exporttype_type": (_P, [_P]),
    "wasm_externtype_kind": (c_uint8, [_P]),
    "wasm_externtype_as_functype_const": (_P, [_P]),
    "wasm_functype_params": (POINTER(PtrVec), [_P]),
    "wasm_functype_results": (POINTER(PtrVec), [_P]),
    "wasm_functype_new": (_P, [POINTER(PtrVec), POINTER(PtrVec)]),
    "wasm_functype_delete": (None, [_P]),
    "wasm_valtype_new": (_P, [c_uint8]),
    "wasm_valtype_kind": (c_uint8, [_P]),
    "wasm_valtype_vec_new": (None, [POINTER(PtrVec), c_size_t, POINTER(_P)]),
    "wasmtime_linker_new": (_P, [_P]),
    "wasmtime_linker_delete": (None, [_P]),
    "wasmtime_linker_define_wasi": (_P, [_P]),
    "wasmtime_linker_define_func": (_P, [_P, c_char_p, c_size_t, c_char_p, c_size_t, _P, FuncCallback, _P, _P]),
    "wasmtime_linker_instantiate": (_P, [_P, _P, _P, POINTER(Instance), POINTER(_P)]),
    "wasmtime_store_new": (_P, [_P, _P, _P]),
    "wasmtime_store_context": (_P, [_P]),
    "wasmtime_store_limiter": (None, [_P, c_int64, c_int64, c_int64, c_int64, c_int64]),
    "wasmtime_store_delete": (None, [_P]),
    "wasmtime_context_set_wasi": (_P, [_P, _P]),
    "wasmtime_context_set_epoch_deadline": (None, [_P, c_uint64]),
    "wasi_config_new": (_P, []),
    "wasi_config_set_stderr_custom": (None, [_P, WriteCallback, _P, _P]),
    "wasmtime_instance_export_get": (c_bool, [_P, POINTER(Instance), c_char_p, c_size_t, POINTER(Extern)]),
    "wasmtime_func_call": (_P, [_P, POINTER(Func), POINTER(Val), c_size_t, POINTER(Val), c_size_t, POINTER(_P)]),
    "wasmtime_memory_data": (c_void_p, [_P, POINTER(Memory)]),
    "wasmtime_memory_data_size": (c_size_t, [_P, POINTER(Memory)]),
}


class LibraryMissing(RuntimeError):
    """LibraryMissing: the Wasmtime C library cannot be loaded."""


class WasmtimeError(RuntimeError):
    """WasmtimeError is an error Wasmtime reported (compiling, linking, ...)."""


def _load():
    path = os.environ.get(ENV_LIBRARY) or os.path.normpath(DEFAULT_LIBRARY)
    if not os.path.exists(path):
        raise LibraryMissing(
            f"Wasmtime C library {path} not found: build it with `make build.libwasmtime` "
            f"(wasmtime-go v{WASMTIME_GO}'s libwasmtime.a as a shared library), or set {ENV_LIBRARY}=path")
    try:
        lib = ctypes.CDLL(path)
    except OSError as e:
        raise LibraryMissing(f"cannot load the Wasmtime C library {path}: {e}") from None
    for name, (restype, argtypes) in _SIGNATURES.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = restype, argtypes
    return lib


_lib = None


def lib():
    """lib returns the loaded library, loading it on first use so that
    importing the package never fails."""
    global _lib
    if _lib is None:
        _lib = _load()
    return _lib


def take_error(err):
    """take_error returns the message of a wasmtime_error_t and frees it."""
    msg = ByteVec()
    lib().wasmtime_error_message(err, byref(msg))
    text = msg.bytes().decode("utf-8", "replace")
    lib().wasm_byte_vec_delete(byref(msg))
    lib().wasmtime_error_delete(err)
    return text


def check(err):
    """check raises WasmtimeError for a non-NULL wasmtime_error_t."""
    if err:
        raise WasmtimeError(take_error(err))


def take_trap(trap):
    """take_trap returns a wasm_trap_t's message and Wasmtime trap code
    (None when it has none), and frees it."""
    msg = ByteVec()
    lib().wasm_trap_message(trap, byref(msg))
    text = msg.bytes().rstrip(b"\0").decode("utf-8", "replace")
    lib().wasm_byte_vec_delete(byref(msg))
    code = c_uint8()
    has_code = lib().wasmtime_trap_code(trap, byref(code))
    lib().wasm_trap_delete(trap)
    return text, (code.value if has_code else None)


def name(vec_ptr):
    """name returns a wasm_name_t* as str."""
    return vec_ptr.contents.bytes().decode("utf-8", "replace")


def kinds(vec_ptr):
    """kinds returns the value kinds of a wasm_valtype_vec_t*."""
    v = vec_ptr.contents
    return tuple(lib().wasm_valtype_kind(v.data[i]) for i in range(v.size))


def functype(params, results):
    """functype returns a new wasm_functype_t (the caller deletes it)."""
    def vec(ks):
        out = PtrVec()
        types = (c_void_p * len(ks))(*[lib().wasm_valtype_new(k) for k in ks])
        lib().wasm_valtype_vec_new(byref(out), len(ks), types)  # takes the valtypes
        return out
    p, r = vec(params), vec(results)
    return lib().wasm_functype_new(byref(p), byref(r))  # takes both vectors


def wat2wasm(text):
    """wat2wasm compiles WebAssembly text (for tests)."""
    out = ByteVec()
    src = text.encode()
    check(lib().wasmtime_wat2wasm(src, len(src), byref(out)))
    data = out.bytes()
    lib().wasm_byte_vec_delete(byref(out))
    return data
