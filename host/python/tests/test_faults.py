"""Trap containment (abi/ABI.md section 6) with the faulty module
(host/engine/testdata/faulty; behaviours in wasm/wasmtest/wasmtest.go):
each failure is answered 252, the page lock is released, the instance is
replaced and the next request is served; and the timeout."""

import struct
import threading

import pytest

import raidakx
from conftest import RecordingBackend

RAIDA = 3
FAULTY_RECORD = b"faulty-record-07\x5a"  # what behaviour 7 writes as (1, 7)


def request(behaviour, body=b""):
    """request is a 32-byte header (router 1, split 0, raida 3, group 2,
    command = behaviour, echo aa bb) and body."""
    h = bytearray(32)
    h[0], h[2], h[4], h[5] = 1, RAIDA, 2, behaviour
    h[30:32] = b"\xaa\xbb"
    return bytes(h) + body


def den(d):
    """den is a body whose bytes 0-3 are d, big-endian (behaviours 10-19)."""
    return struct.pack(">i", d)


# The 252 answer to request(n): raida 3, 00, status 252, group 2, 00 01,
# echo aa bb, then zeros.
INTERNAL = bytes([RAIDA, 0, 252, 2, 0, 1, 0xAA, 0xBB]) + bytes(24)


def test_internal_error_forms():
    assert raidakx.internal_error(request(1), RAIDA) == INTERNAL
    assert raidakx.internal_error(request(1)[:31], RAIDA) == b""  # too short for any answer
    # Type 4 (byte 16) and 48 bytes: bytes 0-3 as above, byte 16 the type,
    # bytes 46-47 the request's.
    req = bytearray(request(1, bytes(16)))
    req[16], req[46:48] = 4, b"\x12\x34"
    assert raidakx.internal_error(bytes(req), RAIDA) == (
        bytes([RAIDA, 0, 252, 2]) + bytes(12) + b"\x04" + bytes(29) + b"\x12\x34")
    # 17 bytes of type 5 still get the 48-byte form; byte 3 is 0 unless
    # router 1, split 0 and this raida id.
    assert raidakx.internal_error(bytes([2] + [0] * 15 + [5]), RAIDA) == (
        bytes([RAIDA, 0, 252, 0]) + bytes(12) + b"\x05" + bytes(31))


@pytest.fixture
def host(faulty):
    backend = RecordingBackend()
    with raidakx.Host(faulty, backend, RAIDA, 6, request_timeout=0.5) as h:
        yield h


def served(h):
    """served checks that the instance serves the next request (behaviour 0
    answers status 250 with the echo) and holds no lock."""
    resp = h.handle(request(0))
    assert h.last_fault is None
    assert resp[:8] == bytes([RAIDA, 0, 250, 2, 0, 1, 0xAA, 0xBB])
    assert h.backend.locked == []


@pytest.mark.parametrize("behaviour, body, fault", [
    (1, b"", "trap"),  # Go panic
    (2, b"", "out of bounds"),  # load past memory: a WebAssembly trap
    (4, b"", "trap"),  # out of memory (64 MiB limit)
    (5, b"", "trap"),  # Go panic holding page (1, 0)
    (6, b"", "outside memory"),  # record_read to 0xfffffff0 holding the lock
    (8, b"", "returned holding page 0 of den 1"),
    (9, b"", "returned a 5-byte response"),
    (10, den(1), "page_unlock(1, 0) of a page not held"),
    (10, den(257), "page_unlock(257, 0) of a page not held"),  # not den 1
    (11, den(1), "page_lock(1, 0) while holding page 0 of den 1"),
    (11, den(99), "while holding"),
    (12, den(1), "outside memory"),
    (12, den(257), "outside memory"),  # the pointer is checked first
    (17, den(24), "aes_ctr with a 24-byte key"),
    (17, den(0), "aes_ctr with a 0-byte key"),
    (18, b"", "outside memory"),
    (19, den(65537), "sha256 of 65537 bytes"),
    (20, b"", "outside memory"),
])
def test_fault_answers_252_and_replaces_instance(host, behaviour, body, fault):
    req = request(behaviour, body)
    assert host.handle(req) == raidakx.internal_error(req, RAIDA)
    assert fault in host.last_fault
    assert host.backend.locked == []
    served(host)


def test_go_panic_is_logged(host):
    assert host.handle(request(1)) == INTERNAL
    assert any("faulty: behaviour 1, a Go panic" in m for _, m in host.backend.logs)


def test_write_before_trap_stays_and_is_committed(host):
    assert host.handle(request(7)) == INTERNAL
    assert host.backend.records[(1, 7)] == FAULTY_RECORD
    assert host.backend.commits == 1
    served(host)
    assert host.backend.commits == 1  # nothing written: no commit


@pytest.mark.parametrize("behaviour, body, challenge", [
    (16, b"", bytes(16)),  # locked read
    (17, den(32), bytes.fromhex("601ec313")),  # NIST SP 800-38A F.5.5, first block
    (19, den(65536), None),  # the largest sha256 is allowed
    (21, b"", bytes.fromhex("874d6191b620e3261bef6864990db6ce")),  # F.5.1, first block
])
def test_healthy_behaviours(host, behaviour, body, challenge):
    resp = host.handle(request(behaviour, body))
    assert host.last_fault is None and resp[2] == 250
    if challenge is not None:
        assert resp[16:16 + len(challenge)] == challenge
    assert host.backend.locked == []


def test_every_import(host):
    resp = host.handle(request(14))
    assert host.last_fault is None and resp[2] == 250
    assert host.backend.files == {"Keys/faulty.txt": b"faulty file"}
    assert host.backend.commits == 1
    assert (0, "module: faulty: every import called") in host.backend.logs


def test_commit_failure_answers_252(faulty):
    class Failing(RecordingBackend):
        def commit(self):
            raise OSError(5, "disk on fire")

    with raidakx.Host(faulty, Failing(), RAIDA, 6) as h:
        assert h.handle(request(14)) == INTERNAL
        assert "commit failed" in h.last_fault and "disk on fire" in h.last_fault


def handle_bounded(h, req):
    """handle_bounded runs h.handle(req) in a thread and fails the test
    rather than hang if the interrupt never comes."""
    out = []
    t = threading.Thread(target=lambda: out.append(h.handle(req)), daemon=True)
    t.start()
    t.join(60)
    assert out, "handle did not return: the loop was not interrupted"
    return out[0]


@pytest.mark.parametrize("behaviour", [3, 15])  # loop; loop holding page (1, 0)
def test_timeout_interrupts_a_loop(host, behaviour):
    assert handle_bounded(host, request(behaviour)) == INTERNAL
    assert (0, "module: faulty: looping") in host.backend.logs  # it did run
    assert "interrupted: ran longer than request_timeout (0.5 s)" in host.last_fault
    assert host.backend.locked == []
    served(host)


def test_slow_request_within_timeout(host):
    # Behaviour 13 spins on time_now for D microseconds: 20 ms, well
    # inside the 0.5 s limit, so the epoch ticks meanwhile do not stop it.
    resp = host.handle(request(13, den(20000)))
    assert host.last_fault is None and resp[2] == 250


def test_hosts_of_one_module_time_out_separately(faulty):
    # The epoch belongs to the engine both hosts share: a loop stopped in
    # one must not stop a slow request in the other.
    slow = raidakx.Host(faulty, RecordingBackend(), RAIDA, 6, request_timeout=30)
    loop = raidakx.Host(faulty, RecordingBackend(), RAIDA, 6, request_timeout=0.2)
    try:
        out = []
        t = threading.Thread(target=lambda: out.append(slow.handle(request(13, den(500000)))), daemon=True)
        t.start()
        assert handle_bounded(loop, request(3)) == INTERNAL
        t.join(60)
        assert out and out[0][2] == 250 and slow.last_fault is None
    finally:
        slow.close()
        loop.close()
