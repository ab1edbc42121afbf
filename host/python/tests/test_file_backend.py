"""FileBackend on a data root in the node's layout: every vector that
changes state, checked on disk; the durable write's call order, done
before handle returns; the journal refusal."""

import os

import pytest

import raidakx
from conftest import RecordingBackend, probe
from raidakx import backends, replay
from test_vectors import VECTORS

WRITING = [v for v in VECTORS if v["expect"].get("records") or v["expect"].get("files")]


class VectorFiles(raidakx.FileBackend):
    """VectorFiles is a FileBackend with a vector's random bytes and time."""

    def __init__(self, root, v):
        super().__init__(root)
        self._mem = raidakx.MemoryBackend(random=bytes.fromhex(v["random_hex"]), now_ns=v["time_unix"] * 10**9)
        self.random, self.now_ns = self._mem.random, self._mem.now_ns


def make_root(root, records=(), files=()):
    """make_root writes a data root: page files holding records
    {(den, sn): 17 bytes} and files {"coins/NAME": bytes}."""
    for d in ("coins", "Keys", "Data"):
        os.makedirs(root / d, exist_ok=True)
    for (den, sn), rec in dict(records).items():
        path = root / "Data" / backends.page_path(den, sn // 1024)
        os.makedirs(path.parent, exist_ok=True)
        page = bytearray(path.read_bytes() if path.exists() else bytes(17408))
        page[sn % 1024 * 17:sn % 1024 * 17 + 17] = rec
        path.write_bytes(page)
    for name, data in dict(files).items():
        (root / name).write_bytes(data)


def disk_record(root, den, sn):
    path = root / "Data" / backends.page_path(den, sn // 1024)
    if not path.exists():
        return bytes(17)
    assert path.stat().st_size == 17408
    return path.read_bytes()[sn % 1024 * 17:sn % 1024 * 17 + 17]


@pytest.mark.parametrize("v", WRITING, ids=[v["name"] for v in WRITING])
def test_vector_on_disk(tmp_path, keyexchange, v):
    records = replay._records(v["state"], "state")
    files = replay._files(v["state"], "state")
    make_root(tmp_path, records, files)
    req = bytes.fromhex(v["request_hex"])
    with VectorFiles(tmp_path, v) as b, raidakx.Host(keyexchange, b, **v["config"]) as h:
        got = h.handle(req)
    # What handle answered is on disk now, read without the backend.
    assert replay.compare_response(req, got, bytes.fromhex(v["response_hex"])) is None
    for (den, sn), rec in replay._records(v["expect"], "expect").items():
        assert disk_record(tmp_path, den, sn) == rec
    for name, data in replay._files(v["expect"], "expect").items():
        assert (tmp_path / name).read_bytes() == data
    assert sorted(os.listdir(tmp_path / "Keys")) == sorted(n[5:] for n in {**files, **v["expect"].get("files", {})}
                                                           if n.startswith("Keys/"))  # no temporary file left


@pytest.fixture
def calls(monkeypatch):
    """calls records the file system calls of the durable writes, naming
    each descriptor by the path it was opened with."""
    log, names = [], {}
    real = {f: getattr(os, f) for f in ("open", "write", "fsync", "rename", "close")}

    def open_(path, flags, mode=0o777, *, dir_fd=None):
        fd = real["open"](path, flags, mode, dir_fd=dir_fd)
        names[fd] = path
        if flags & os.O_CREAT:
            log.append(("create", path))
        return fd

    monkeypatch.setattr(os, "open", open_)
    monkeypatch.setattr(os, "write", lambda fd, b: log.append(("write", names.get(fd))) or real["write"](fd, b))
    monkeypatch.setattr(os, "fsync", lambda fd: log.append(("fsync", names.get(fd))) or real["fsync"](fd))
    monkeypatch.setattr(os, "rename", lambda a, b, **kw: log.append(("rename", a, b)) or real["rename"](a, b, **kw))
    return log


def test_durable_record_write(tmp_path, faulty, calls):
    # Faulty behaviour 7 writes record (1, 7) to a missing page, then
    # panics: the write stays and is durable before the 252 is returned.
    make_root(tmp_path)
    with raidakx.FileBackend(str(tmp_path)) as b, raidakx.Host(faulty, b, 0, 6) as h:
        calls.clear()
        req = bytearray(32)
        req[5] = 7
        assert h.handle(bytes(req))[2] == 252
        assert disk_record(tmp_path, 1, 7) == b"faulty-record-07\x5a"
    assert calls == [  # paths relative to Data/
        ("fsync", "."),  # Data/01 created
        ("fsync", "01"),  # Data/01/00 created
        ("create", ".0000.bin.tmp"), ("write", ".0000.bin.tmp"), ("fsync", ".0000.bin.tmp"),
        ("rename", ".0000.bin.tmp", "0000.bin"), ("fsync", "01/00"),
    ]


def test_durable_key_file(tmp_path, faulty, calls):
    make_root(tmp_path)
    with raidakx.FileBackend(str(tmp_path)) as b, raidakx.Host(faulty, b, 0, 6) as h:
        calls.clear()
        req = bytearray(32)
        req[5] = 14  # writes Keys/faulty.txt, reads it back
        assert h.handle(bytes(req))[2] == 250
        assert (tmp_path / "Keys" / "faulty.txt").read_bytes() == b"faulty file"
    temp = calls[0][1]
    assert temp.startswith(".raidakx-tmp-")
    assert calls == [("create", temp), ("write", temp), ("fsync", temp), ("rename", temp, "faulty.txt"),
                     ("fsync", str(tmp_path / "Keys"))]


def test_failed_commit_is_retried_before_a_read(tmp_path, probe_module, monkeypatch):
    make_root(tmp_path)
    real_rename, fails = os.rename, [OSError(28, "disk full")]

    def rename(*a, **kw):
        if fails:
            raise fails.pop()
        return real_rename(*a, **kw)

    monkeypatch.setattr(os, "rename", rename)
    with raidakx.FileBackend(str(tmp_path)) as b, raidakx.Host(probe_module, b, 0, 6) as h:
        assert probe(h, "locked_write", 1, 7, 0x4000, 0) is None  # 252: the commit failed
        assert "commit failed" in h.last_fault and disk_record(tmp_path, 1, 7) == bytes(17)
        assert not os.listdir(tmp_path / "Data" / "01" / "00")  # no temporary file left
        assert probe(h, "record_read", 1, 7, 0x4000) == 0  # commits first
        assert (tmp_path / "Data" / "01" / "00" / "0000.bin").exists()


@pytest.mark.parametrize("name, size, refused", [
    ("raidakx.journal", 16, False),  # header only: no change in it
    ("raidakx.journal", 16 + 24 + 22, True),  # a batch
    ("raidakx.journal.old", 16, True),  # a checkpoint did not finish
])
def test_journal_refusal(tmp_path, name, size, refused):
    make_root(tmp_path)
    (tmp_path / name).write_bytes(b"RKXJRNL2" + bytes(size - 8))
    if refused:
        msg = f"{name} holds record changes not yet in the page files; run `raidakx serve"
        with pytest.raises(RuntimeError, match=msg):
            raidakx.FileBackend(str(tmp_path))
    else:
        raidakx.FileBackend(str(tmp_path)).close()


def test_bad_root_and_files(tmp_path, probe_module):
    with pytest.raises(RuntimeError, match="no usable coins/ folder"):
        raidakx.FileBackend(str(tmp_path))
    make_root(tmp_path)
    (tmp_path / "Keys" / ".raidakx-tmp-0123456789abcdef").write_bytes(b"left by a crash")
    (tmp_path / "Keys" / "link").symlink_to(tmp_path / "coins")
    os.makedirs(tmp_path / "Data" / "01" / "00")
    (tmp_path / "Data" / "01" / "00" / "0000.bin").write_bytes(bytes(17407))  # one byte short
    with raidakx.FileBackend(str(tmp_path)) as b, raidakx.Host(probe_module, b, 0, 6) as h:
        assert os.listdir(tmp_path / "Keys") == ["link"]  # the stale temporary file is gone
        assert probe(h, "file_read", 1, 0x120, 4, 0x4000, 10, data=b"link") == -2  # not followed
        assert probe(h, "record_read", 1, 7, 0x4000) == -2  # the page's size is wrong
        assert probe(h, "file_read", 1, 0x120, 4, 0x4000, 10, data=b"none") == -1


def test_memory_backend_is_a_backend(probe_module):
    # The probe's record write through both backends' interface.
    b = RecordingBackend(records={(1, 7): b"x" * 17})
    with raidakx.Host(probe_module, b, 0, 6) as h:
        assert probe(h, "record_read", 1, 7, 0x4000) == 0
        assert probe(h, "locked_write", 1, 8, 0x4000, 0) == 0
    assert b.records[(1, 8)] == b"x" * 17
