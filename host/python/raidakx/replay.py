"""replay runs test vectors (testvectors/README.md) through the library, on
a MemoryBackend holding the vector's state, random bytes and time, with
the comparison rules of the Go harness (testvectors/replay) and
testvectors/node/replay.mjs."""

import json
import os

from . import abi
from .backends import MemoryBackend
from .host import Host


def vector_files(paths):
    """vector_files expands each folder to its *.json files (not recursively),
    in name order."""
    out = []
    for p in paths:
        if os.path.isdir(p):
            out += [os.path.join(p, f) for f in sorted(os.listdir(p)) if f.endswith(".json")]
        else:
            out.append(p)
    return out


def load(paths):
    """load returns the vectors of every path, in order."""
    vectors = []
    for file in vector_files(paths):
        try:
            with open(file, encoding="utf-8") as f:
                vectors += json.load(f).get("vectors") or []
        except (OSError, ValueError) as e:
            raise ValueError(f"{file}: {e}") from None
    return vectors


def _hex(field, s):
    try:
        return bytes.fromhex(s)
    except (TypeError, ValueError):
        raise ValueError(f"{field}: not hex") from None


def _records(state, where):
    out = {}
    for r in (state or {}).get("records") or []:
        an = _hex(f"{where}: an", r.get("an"))
        ints = all(isinstance(r.get(k), int) for k in ("den", "sn", "mfs"))
        if not (ints and len(an) == 16 and abi.MIN_DEN <= r["den"] <= abi.MAX_DEN
                and 0 <= r["sn"] < abi.SN_LIMIT and 0 <= r["mfs"] <= 255):
            raise ValueError(f"{where}: invalid record {r}")
        out[(r["den"], r["sn"])] = an + bytes([r["mfs"]])
    return out


def _files(state, where):
    return {name: _hex(f"{where}: {name}", h) for name, h in ((state or {}).get("files") or {}).items()}


_FIELDS = ((2, 3, "status"), (3, 4, "group"), (6, 8, "echo"), (9, 12, "body length"), (16, 32, "challenge answer"))


def _field(i):
    if i >= abi.HEADER:
        return f"payload or trailer byte {i - abi.HEADER}"
    return next((name for lo, hi, name in _FIELDS if lo <= i < hi), "header")


def compare_response(req, got, want):
    """compare_response describes the first difference, ignoring the
    execution time: bytes 12-15, or 4-7 in the 48-byte answers of types 4
    and 5 (PROTOCOL.md section 6.6). None when they agree."""
    micros = 4 if abi.has_48_byte_header(req) else 12
    both = f"\n  got  {got.hex()}\n  want {want.hex()}"
    for i in range(min(len(got), len(want))):
        if not micros <= i < micros + 4 and got[i] != want[i]:
            return f"response byte {i} ({_field(i)}): got {got[i]:02x}, want {want[i]:02x}{both}"
    if len(got) != len(want):
        return f"response length: got {len(got)}, want {len(want)}{both}"
    return None


def _show_record(r):
    return f"an {r[:16].hex()} mfs {r[16]}"


def compare_records(before, after, want):
    """compare_records reports every record that differs from want, and any
    other that changed; a record absent reads as zeros."""
    zero = bytes(abi.RECORD)
    problems = []
    for key in sorted(set(after) | set(want)):
        got, label = after.get(key, zero), f"record ({key[0]}, {key[1]})"
        if key in want and got != want[key]:
            problems.append(f"{label}: got {_show_record(got)}, want {_show_record(want[key])}")
        elif key not in want and got != before.get(key, zero):
            problems.append(f"{label} changed to {_show_record(got)}; the vector expects no change")
    return problems


def compare_files(before, after, want):
    """compare_files reports every file missing or different from want, and
    any other created or changed."""
    problems = [f"file {n}: missing, want {want[n].hex()}" for n in sorted(want) if n not in after]
    for name in sorted(after):
        got = after[name]
        if name in want and got != want[name]:
            problems.append(f"file {name}: got {got.hex()}, want {want[name].hex()}")
        elif name not in want and got != before.get(name):
            problems.append(f"file {name} changed to {got.hex()}; the vector expects no change")
    return problems


def run(module, v):
    """run replays vector v on a fresh Host of module and returns its
    problems: [] when it passes."""
    req, want = _hex("request_hex", v.get("request_hex")), _hex("response_hex", v.get("response_hex"))
    random = _hex("random_hex", v.get("random_hex"))
    records, files = _records(v.get("state"), "state"), _files(v.get("state"), "state")
    want_records, want_files = _records(v.get("expect"), "expect"), _files(v.get("expect"), "expect")
    cfg = v.get("config") or {}
    raida_id, coin_id = cfg.get("raida_id"), cfg.get("coin_id")
    if not (isinstance(raida_id, int) and 0 <= raida_id <= 24 and isinstance(coin_id, int) and 0 <= coin_id <= 0xFFFF):
        raise ValueError(f"config out of range: {cfg}")
    backend = MemoryBackend(records, files, random=random, now_ns=v.get("time_unix", 0) * 10**9)
    with Host(module, backend, raida_id, coin_id) as host:
        got = host.handle(req)
        fault = host.last_fault
    problems = []
    if fault and got != want:
        problems.append(f"module failed: {fault}")
    if backend.random_exhausted:
        problems.append(f"ran out of random bytes (the vector gives {len(random)})")
    p = compare_response(req, got, want)
    if p:
        problems.append(p)
    problems += compare_records(records, backend.records, want_records)
    problems += compare_files(files, backend.files, want_files)
    return problems
