"""The ctypes structures of raidakx/_wasmtime.py against Wasmtime's headers,
and values through them both ways: a layout mismatch garbles these."""

import ctypes
import os
import subprocess
import sys
from ctypes import byref, c_void_p

import pytest

from conftest import REPO
from raidakx import _wasmtime as wt

# (ctypes structure, C type, fields to compare by offset: ctypes name, or
# (ctypes name, C name))
LAYOUTS = [
    (wt.ByteVec, "wasm_byte_vec_t", ["size", "data"]),
    (wt.Func, "wasmtime_func_t", ["store_id"]),
    (wt.Memory, "wasmtime_memory_t", ["store_id", ("private2", "__private2")]),
    (wt.Global, "wasmtime_global_t", ["store_id", ("private3", "__private3")]),
    (wt.ExternUnion, "wasmtime_extern_union_t", []),
    (wt.Extern, "wasmtime_extern_t", ["kind", "of"]),
    (wt.Ref, "wasmtime_anyref_t", ["store_id"]),
    (wt.ValUnion, "wasmtime_valunion_t", []),
    (wt.Val, "wasmtime_val_t", ["kind", "of"]),
    (wt.Instance, "wasmtime_instance_t", ["store_id"]),
]


def wasmtime_include():
    """wasmtime_include is wasmtime-go's header folder, from the Go module
    cache (the release go.mod pins)."""
    try:
        out = subprocess.run(["go", "list", "-m", "-f", "{{.Dir}}", "github.com/bytecodealliance/wasmtime-go/v39"],
                             cwd=REPO, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        pytest.fail(f"cannot find wasmtime-go's headers (go list -m): {e}")
    return os.path.join(out.stdout.strip(), "build", "include")


def test_layouts_match_headers(tmp_path):
    lines = []
    for _, ctype, fields in LAYOUTS:
        lines.append(f'printf("{ctype} %zu %zu\\n", sizeof({ctype}), _Alignof({ctype}));')
        for f in fields:
            c = f if isinstance(f, str) else f[1]
            lines.append(f'printf("{ctype}.{c} %zu\\n", offsetof({ctype}, {c}));')
    src = tmp_path / "layout.c"
    src.write_text("#include <stdio.h>\n#include <stddef.h>\n#include <wasmtime.h>\nint main(void) {\n"
                   + "\n".join(lines) + "\nreturn 0;\n}\n")
    exe = tmp_path / "layout"
    subprocess.run(["cc", "-std=c11", "-I", wasmtime_include(), "-o", str(exe), str(src)], check=True)
    want = dict(line.split(" ", 1) for line in subprocess.run([str(exe)], capture_output=True, text=True,
                                                              check=True).stdout.splitlines())
    got = {}
    for cls, ctype, fields in LAYOUTS:
        got[ctype] = f"{ctypes.sizeof(cls)} {ctypes.alignment(cls)}"
        for f in fields:
            py, c = (f, f) if isinstance(f, str) else f
            got[f"{ctype}.{c}"] = str(getattr(cls, py).offset)
    assert got == want


def test_values_round_trip():
    # run(a i32, b i64) calls the host's echo(b, a) and returns its i64
    # result and a + 1: the values cross wasmtime_val_t four times.
    wasm = wt.wat2wasm("""(module
      (import "t" "echo" (func $echo (param i64 i32) (result i64)))
      (func (export "run") (param $a i32) (param $b i64) (result i64 i32)
        (call $echo (local.get $b) (local.get $a))
        (i32.add (local.get $a) (i32.const 1))))""")
    L = wt.lib()
    cfg = L.wasm_config_new()
    engine = L.wasm_engine_new_with_config(cfg)
    mod = c_void_p()
    wt.check(L.wasmtime_module_new(engine, wasm, len(wasm), byref(mod)))
    seen = []

    def echo(_env, _caller, args, nargs, results, nresults):
        seen.append((nargs, args[0].kind, args[0].of.i64, args[1].kind, args[1].of.i32, nresults))
        results[0].kind, results[0].of.i64 = wt.I64, args[0].of.i64 ^ 0x0F0F0F0F0F0F0F0F
        return None

    cb = wt.FuncCallback(echo)
    linker = L.wasmtime_linker_new(engine)
    ty = wt.functype([wt.I64, wt.I32], [wt.I64])
    wt.check(L.wasmtime_linker_define_func(linker, b"t", 1, b"echo", 4, ty, cb, None, None))
    L.wasm_functype_delete(ty)
    store = L.wasmtime_store_new(engine, None, None)
    ctx = L.wasmtime_store_context(store)
    inst, trap = wt.Instance(), c_void_p()
    wt.check(L.wasmtime_linker_instantiate(linker, ctx, mod, byref(inst), byref(trap)))
    assert not trap
    ext = wt.Extern()
    assert L.wasmtime_instance_export_get(ctx, byref(inst), b"run", 3, byref(ext))
    assert ext.kind == wt.EXTERN_FUNC
    args, results = (wt.Val * 2)(), (wt.Val * 2)()
    args[0].kind, args[0].of.i32 = wt.I32, -2  # 0xfffffffe
    args[1].kind, args[1].of.i64 = wt.I64, -0x7EDCBA9876543211  # 0x8123456789abcdef
    wt.check(L.wasmtime_func_call(ctx, byref(ext.of.func), args, 2, results, 2, byref(trap)))
    assert not trap
    assert seen == [(2, wt.I64, -0x7EDCBA9876543211, wt.I32, -2, 1)]
    assert (results[0].kind, results[0].of.i64) == (wt.I64, -0x7EDCBA9876543211 ^ 0x0F0F0F0F0F0F0F0F)
    assert (results[1].kind, results[1].of.i32) == (wt.I32, -1)
    L.wasmtime_store_delete(store)
    L.wasmtime_linker_delete(linker)
    L.wasmtime_module_delete(mod)
    L.wasm_engine_delete(engine)


def test_missing_library_says_how_to_build_it():
    env = dict(os.environ, RAIDAKX_LIBWASMTIME="/nonexistent/libwasmtime.so")
    out = subprocess.run([sys.executable, "-c", "import raidakx; raidakx.Module(b'')"], env=env,
                         cwd=os.path.join(REPO, "host", "python"), capture_output=True, text=True)
    assert out.returncode != 0
    assert "/nonexistent/libwasmtime.so not found: build it with `make build.libwasmtime`" in out.stderr
    assert "RAIDAKX_LIBWASMTIME=path" in out.stderr
