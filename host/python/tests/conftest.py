"""Fixtures: the modules under test (build/keyexchange.wasm and
build/faulty.wasm, or $RAIDAKX_WASM and $RAIDAKX_FAULTY_WASM, as the Go
tests), and a probe module written here in WebAssembly text that calls one
import with the arguments a request carries, so that every errno and trap
of abi/ABI.md section 4 can be reached directly."""

import os
import struct

import pytest

import raidakx
from raidakx import _wasmtime as wt

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def _wasm(env, default, target):
    path = os.environ.get(env) or os.path.join(REPO, "build", default)
    if not os.path.exists(path):
        pytest.fail(f"{path} is missing: build it with `make {target}` or set {env}")
    with open(path, "rb") as f:
        return f.read()


@pytest.fixture(scope="session")
def keyexchange_wasm():
    return _wasm("RAIDAKX_WASM", "keyexchange.wasm", "build.wasm")


@pytest.fixture(scope="session")
def keyexchange(keyexchange_wasm):
    m = raidakx.Module(keyexchange_wasm)
    yield m
    m.close()


@pytest.fixture(scope="session")
def faulty():
    m = raidakx.Module(_wasm("RAIDAKX_FAULTY_WASM", "faulty.wasm", "build.faulty"))
    yield m
    m.close()


class RecordingBackend(raidakx.MemoryBackend):
    """RecordingBackend is a MemoryBackend that keeps the log, counts
    commits and checks that page locks pair up."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.logs, self.commits, self.locked = [], 0, []

    def log(self, level, message):
        self.logs.append((level, message))

    def commit(self):
        self.commits += 1

    def lock_page(self, den, page):
        assert not self.locked, f"lock_page({den}, {page}) while {self.locked} is held"
        self.locked.append((den, page))

    def unlock_page(self, den, page):
        assert self.locked == [(den, page)], f"unlock_page({den}, {page}) while {self.locked} is held"
        self.locked.clear()


# The probe: request bytes 0-3 pick an operation (little-endian), bytes
# 4-23 are five i32 arguments A0..A4; bytes 32 on are data the arguments
# may point at (the request buffer is at 0x100, so request byte 32 is
# address 0x120). The answer is 32 bytes: the result as a little-endian
# i64, then zeros. Memory is two pages (131,072 bytes). Each operation
# calls one import; page_lock unlocks again when it succeeded, and the
# locked_ ones run between page_lock(A0, A3) and page_unlock(A0, A3).
PROBE_DATA = 0x120
PROBE_MEMORY = 2 * 65536
_PROBE_IMPORTS = {
    "random": "(param i32 i32) (result i32)",
    "page_lock": "(param i32 i32) (result i32)",
    "page_unlock": "(param i32 i32) (result i32)",
    "record_read": "(param i32 i32 i32) (result i32)",
    "record_write": "(param i32 i32 i32) (result i32)",
    "file_read": "(param i32 i32 i32 i32 i32) (result i32)",
    "file_write": "(param i32 i32 i32 i32 i32) (result i32)",
    "time_now": "(result i64)",
}


def _a(i):
    return f"(i32.load (i32.const {0x104 + 4 * i}))"


def _set(call):
    return f"(local.set $r (i64.extend_i32_s {call}))"


def _locked(call):
    return f"(drop (call $page_lock {_a(0)} {_a(3)})) {_set(call)} (drop (call $page_unlock {_a(0)} {_a(3)}))"


_PROBE_ARMS = {
    "random": _set(f"(call $random {_a(0)} {_a(1)})"),
    "page_lock": _set(f"(call $page_lock {_a(0)} {_a(1)})")
    + f" (if (i64.eqz (local.get $r)) (then (drop (call $page_unlock {_a(0)} {_a(1)}))))",
    "page_unlock": _set(f"(call $page_unlock {_a(0)} {_a(1)})"),
    "record_read": _set(f"(call $record_read {_a(0)} {_a(1)} {_a(2)})"),
    "record_write": _set(f"(call $record_write {_a(0)} {_a(1)} {_a(2)})"),
    "locked_read": _locked(f"(call $record_read {_a(0)} {_a(1)} {_a(2)})"),
    "locked_write": _locked(f"(call $record_write {_a(0)} {_a(1)} {_a(2)})"),
    "file_read": _set(f"(call $file_read {' '.join(_a(i) for i in range(5))})"),
    "file_write": _set(f"(call $file_write {' '.join(_a(i) for i in range(5))})"),
    "time_now": "(local.set $r (call $time_now))",
}
PROBE_OPS = list(_PROBE_ARMS)


ALL_EXPORTS = ("memory", "_initialize", "raidakx_abi_version", "raidakx_configure", "raidakx_request_buffer",
               "raidakx_response_buffer", "raidakx_handle")


def probe_wat(version=2, imports=None, exports=ALL_EXPORTS):
    """probe_wat returns the probe's text; the imports it declares and the
    exports may be changed to make modules the ABI check must refuse (only
    the full probe can run)."""
    imports = dict(_PROBE_IMPORTS if imports is None else imports)
    blocks = "".join(f"(block $b{i} " for i in reversed(range(len(PROBE_OPS))))
    table = " ".join(f"$b{i}" for i in range(len(PROBE_OPS)))
    arms = "".join(f") {arm} (br $done)" for arm in _PROBE_ARMS.values())
    handle = (f"(block $done {blocks}(br_table {table} $done (i32.load (i32.const 0x100))) {arms})"
              if imports == _PROBE_IMPORTS else "")
    defs = {
        "memory": '(memory (export "memory") 2)' if "memory" in exports else "(memory 2)",
        "_initialize": '(func (export "_initialize"))',
        "raidakx_abi_version": f'(func (export "raidakx_abi_version") (result i32) (i32.const {version}))',
        "raidakx_configure": '(func (export "raidakx_configure") (param i32 i32) (result i32) (i32.const 0))',
        "raidakx_request_buffer": '(func (export "raidakx_request_buffer") (result i32) (i32.const 0x100))',
        "raidakx_response_buffer": '(func (export "raidakx_response_buffer") (result i32) (i32.const 0x8000))',
        "raidakx_handle": f'''(func (export "raidakx_handle") (param $n i32) (result i32) (local $r i64)
            {handle} (i64.store (i32.const 0x8000) (local.get $r)) (i32.const 32))''',
    }
    imps = "\n".join(f'(import "raidakx" "{name}" (func ${name} {sig}))' for name, sig in imports.items())
    body = "\n".join(d for name, d in defs.items() if name in exports or name == "memory")
    return f"(module\n{imps}\n{body})"


@pytest.fixture(scope="session")
def probe_module():
    m = raidakx.Module(wt.wat2wasm(probe_wat()))
    yield m
    m.close()


def probe_request(op, *args, data=b""):
    """probe_request asks the probe to call import op with args."""
    args = list(args) + [0] * (5 - len(args))
    return struct.pack("<I5I", PROBE_OPS.index(op), *[a & 0xFFFFFFFF for a in args]) + bytes(8) + data


def probe(host, op, *args, data=b""):
    """probe returns the import's result, or None when the call trapped."""
    resp = host.handle(probe_request(op, *args, data=data))
    if host.last_fault is not None:
        return None
    return struct.unpack_from("<q", resp)[0]
