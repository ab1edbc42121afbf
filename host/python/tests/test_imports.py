"""The imports of abi/ABI.md section 4, called directly by the probe module
(conftest.py): every errno, the traps and the order of the checks; and
the load-time checks of section 5."""

import errno

import pytest

import raidakx
from conftest import PROBE_DATA, PROBE_MEMORY, RecordingBackend, probe, probe_wat
from raidakx import _wasmtime as wt

END = PROBE_MEMORY  # first address past memory


@pytest.fixture
def backend():
    return RecordingBackend(files={"coins/01.5.bin": b"coin file", "Keys/k": b"key"}, random=b"0123456789")


@pytest.fixture
def host(probe_module, backend):
    with raidakx.Host(probe_module, backend, 0, 6) as h:
        yield h


NAME = PROBE_DATA  # address of data=... in the request


@pytest.mark.parametrize("op, args, data, want", [
    # random(ptr, len)
    ("random", (0x4000, 4), b"", 0),
    ("random", (0x4000, 11), b"", -4),  # more than the backend has: ErrNoRandom
    ("random", (END - 4, 4), b"", 0),  # ends exactly at the end of memory
    ("random", (END - 3, 4), b"", None),  # one byte past it: trap
    ("random", (0xFFFFFFF0, 0x20), b"", None),  # wraps in 32 bits: still a trap
    # page_lock(den, page): den is signed, page unsigned
    ("page_lock", (-8, 999), b"", 0),
    ("page_lock", (7, 0), b"", -3),
    ("page_lock", (-9, 0), b"", -3),
    ("page_lock", (257, 0), b"", -3),  # not den 1
    ("page_lock", (1, 1000), b"", -3),
    ("page_lock", (1, -1), b"", -3),  # page 4294967295
    ("page_unlock", (1, 0), b"", None),  # not held
    # record_read and record_write holding page_lock(A0, A3)
    ("locked_read", (1, 1023, 0x4000, 0), b"", 0),
    ("locked_read", (1, 1024, 0x4000, 0), b"", None),  # another page
    ("locked_read", (-8, 1023999, 0x4000, 999), b"", 0),
    ("locked_write", (1, 7, 0x4000, 0), b"", 0),
    ("locked_write", (1, 7, 0x4000, 1), b"", None),  # the lock of page 1
    ("locked_write", (1, 7, END - 16, 0), b"", None),
    # record_read(den, sn, ptr) holding no lock
    ("record_read", (1, 1023999, 0x4000), b"", 0),
    ("record_read", (1, 1024000, 0x4000), b"", -3),
    ("record_read", (7, 0, 0x4000), b"", -3),
    ("record_read", (7, 0, END - 16), b"", None),  # pointer before range
    ("record_write", (1, 0, 0x4000), b"", None),  # no lock
    # file_read(dir, name_ptr, name_len, buf_ptr, buf_len)
    ("file_read", (0, NAME, 8, 0x4000, 100), b"01.5.bin", 9),
    ("file_read", (0, NAME, 8, 0x4000, 4), b"01.5.bin", 4),  # at most buf_len
    ("file_read", (1, NAME, 1, 0x4000, 100), b"k", 3),
    ("file_read", (1, NAME, 1, 0x4000, 100), b"x", -1),
    ("file_read", (1, NAME, 2, 0x4000, 100), b"/k", -6),
    ("file_read", (1, NAME, 2, 0x4000, 100), b".k", -6),
    ("file_read", (1, NAME, 0, 0x4000, 100), b"", -6),
    ("file_read", (1, NAME, 256, 0x4000, 100), b"a" * 256, -6),
    ("file_read", (1, NAME, 255, 0x4000, 100), b"a" * 255, -1),  # 255 is a name
    ("file_read", (2, NAME, 1, 0x4000, 100), b"k", None),  # unknown dir
    ("file_read", (1, NAME, 1, END - 10, 100), b"k", None),
    # file_write(dir, name_ptr, name_len, data_ptr, data_len)
    ("file_write", (1, NAME, 1, 0x4000, 4096), b"n", 0),
    ("file_write", (1, NAME, 1, 0x4000, 4097), b"n", -5),
    ("file_write", (0, NAME, 1, 0x4000, 4097), b"/", -7),  # ErrDenied before the others
    ("file_write", (1, NAME, 1, 0x4000, 4097), b"/", -6),  # ErrBadName before ErrTooLarge
    ("file_write", (5, NAME, 1, 0x4000, 1), b"n", None),
    ("file_write", (1, NAME, 1, END - 1, 2), b"n", None),
])
def test_import(host, op, args, data, want):
    assert probe(host, op, *args, data=data) == want
    assert host.backend.locked == []


def test_bytes_reach_memory_and_back(host, backend):
    assert probe(host, "random", 0x4000, 4) == 0
    assert probe(host, "file_write", 1, NAME, 1, 0x4000, 4, data=b"n") == 0
    assert backend.files["Keys/n"] == b"0123"
    assert backend.commits == 1
    # "coin file" over "0123" at 0x4000, then zeros, as record (2, 1030).
    assert probe(host, "file_read", 0, NAME, 8, 0x4000, 17, data=b"01.5.bin") == 9
    assert probe(host, "locked_write", 2, 1030, 0x4000, 1) == 0
    assert backend.records == {(2, 1030): b"coin file" + bytes(8)}
    assert backend.commits == 2
    # The record read back to 0x4010, then 0x4008-0x4018 written as (2, 1031).
    assert probe(host, "record_read", 2, 1030, 0x4010) == 0
    assert probe(host, "locked_write", 2, 1031, 0x4008, 1) == 0
    assert backend.records[(2, 1031)] == b"e" + bytes(7) + b"coin file"


def test_time_now_is_64_bits(probe_module):
    b = RecordingBackend(now_ns=0x7123456789ABCDEF)
    with raidakx.Host(probe_module, b, 0, 6) as h:
        assert probe(h, "time_now") == 0x7123456789ABCDEF


@pytest.mark.parametrize("method, exc, want", [
    ("read_file", OSError(errno.EIO, "bad sector"), -2),
    ("write_file", OSError(errno.ENOSPC, "disk full"), -9),
    ("write_file", ValueError("anything else"), -2),
    ("read_record", OSError(errno.ENOSPC, "odd, but still ErrNoSpace"), -9),
    ("lock_page", RuntimeError("no lock"), -2),
])
def test_storage_errors(probe_module, method, exc, want):
    def fail(*args):
        raise exc

    b = RecordingBackend()
    setattr(b, method, fail)
    op, args = {"read_file": ("file_read", (1, NAME, 1, 0x4000, 9)),
                "write_file": ("file_write", (1, NAME, 1, 0x4000, 9)),
                "read_record": ("record_read", (1, 7, 0x4000)),
                "lock_page": ("page_lock", (1, 0))}[method]
    with raidakx.Host(probe_module, b, 0, 6) as h:
        assert probe(h, op, *args, data=b"n") == want
        assert any(str(exc) in m for _, m in b.logs)


def test_short_record_is_an_io_error(probe_module):
    b = RecordingBackend()
    b.read_record = lambda den, sn: b"short"
    with raidakx.Host(probe_module, b, 0, 6) as h:
        assert probe(h, "record_read", 1, 7, 0x4000) == -2


def wasm(**kw):
    return wt.wat2wasm(probe_wat(**kw))


def test_abi_check_lists_every_problem():
    imports = {"random": "(param i32) (result i32)", "pick": "(param i32) (result i32)"}
    with pytest.raises(raidakx.AbiError) as e:
        raidakx.Module(wasm(imports=imports, exports=("_initialize", "raidakx_abi_version", "raidakx_configure",
                                                      "raidakx_request_buffer", "raidakx_response_buffer")))
    assert str(e.value) == (
        "module does not implement raidakx ABI v2:\n"
        "  imports raidakx.random as (i32) -> (i32), want (i32, i32) -> (i32)\n"
        "  imports raidakx.pick, which the ABI does not define\n"
        "  does not export function raidakx_handle\n"
        "  does not export memory")


def test_abi_version_is_checked():
    m = raidakx.Module(wasm(version=1))
    try:
        with pytest.raises(raidakx.AbiError, match=r"raidakx_abi_version\(\) = 1, want 2"):
            raidakx.Host(m, RecordingBackend(), 0, 6)
    finally:
        m.close()


@pytest.mark.parametrize("kw, msg", [
    ({"raida_id": 25, "coin_id": 6}, "raida_id 25: want 0..24"),
    ({"raida_id": 0, "coin_id": 65536}, "coin_id 65536: want 0..65535"),
    ({"raida_id": 0, "coin_id": 6, "request_timeout": 0}, "request_timeout 0: want > 0"),
])
def test_load_checks_its_arguments(kw, msg):
    with pytest.raises(ValueError, match=msg):
        raidakx.load(wasm(), RecordingBackend(), **kw)
