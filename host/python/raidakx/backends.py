"""backends holds the two shipped backends of the foreign-host interface:
MemoryBackend (tests, vectors) and FileBackend (a node data root).

A backend is the host's storage and environment; the host (host.py) has
checked every name, range and lock before it calls one. The methods:

  random(n) -> n bytes             raising: ErrNoRandom
  lock_page(den, page), unlock_page(den, page)
  read_record(den, sn) -> 17 bytes (AN 16, MFS 1); never written: zeros
  write_record(den, sn, rec)
  commit()                         make the request's writes durable
  read_file(dir, name) -> bytes or None (missing); dir 'coins' or 'Keys'
  write_file('Keys', name, data)   whole and atomic
  now_ns() -> int                  nanoseconds since the Unix epoch
  log(level, message)              optional; -1 debug .. 2 error

A storage method that raises answers ErrIO, or ErrNoSpace for an OSError
with errno ENOSPC. Both backends here serve one Host: their page locks are
no-ops, since one instance holds at most one lock and there is no other.
"""

import os
import secrets
import stat
import time

from . import abi


class MemoryBackend:
    """MemoryBackend keeps records and files in dicts: records maps (den, sn)
    to 17 bytes, files maps "coins/NAME" and "Keys/NAME" to bytes. random,
    when given, is the only random bytes it serves (a vector's): asking for
    more raises and sets random_exhausted. now_ns, when given, is the time."""

    def __init__(self, records=None, files=None, random=None, now_ns=None):
        self.records = dict(records or {})
        self.files = dict(files or {})
        self._random, self._pos = random, 0
        self.random_exhausted = False
        self._now = now_ns

    def random(self, n):
        if self._random is None:
            return secrets.token_bytes(n)
        if n > len(self._random) - self._pos:
            self.random_exhausted = True
            raise LookupError(f"out of random bytes: {n} asked, {len(self._random) - self._pos} left")
        self._pos += n
        return self._random[self._pos - n:self._pos]

    def lock_page(self, den, page):
        pass

    def unlock_page(self, den, page):
        pass

    def read_record(self, den, sn):
        return self.records.get((den, sn), bytes(abi.RECORD))

    def write_record(self, den, sn, rec):
        self.records[(den, sn)] = bytes(rec)

    def commit(self):
        pass

    def read_file(self, dir, name):
        return self.files.get(f"{dir}/{name}")

    def write_file(self, dir, name, data):
        self.files[f"{dir}/{name}"] = bytes(data)

    def now_ns(self):
        return time.time_ns() if self._now is None else self._now


# Names shared with the Go host (host/storage), so that either cleans up
# after the other: the journal, the temporary files of Keys/ and of pages.
JOURNAL, JOURNAL_OLD = "raidakx.journal", "raidakx.journal.old"
JOURNAL_HEADER = 16  # magic and salt: a journal with no batch holds no change
KEYS_TEMP_PREFIX = ".raidakx-tmp-"


def page_path(den, page):
    """page_path is the page file of (den, page) under Data/, in the node's
    layout: (1, 999) is 01/03/03e7.bin, (-8, 0) f8/00/0000.bin."""
    return f"{den & 0xFF:02x}/{page >> 8:02x}/{page:04x}.bin"


class FileBackend:
    """FileBackend is a RAIDA data root in the node's own layout: records in
    the page files of Data/ (17,408 bytes each, a missing one reads as
    zeros), coins/ (read only) and Keys/.

    A record write goes to a copy of its page in memory, where reads find
    it; commit puts each changed page in place whole (temporary file in the
    same folder, fsync, rename over, fsync the folder), so a crash leaves
    the old page or the new one. A commit that failed is retried before the
    next read, so nothing answered depends on a change not yet durable.
    A Keys/ file is written the same way, durable when write_file returns.

    It refuses a data root whose raidakx journal holds changes the Go host
    has not yet put into the page files: start and stop `raidakx serve` on
    it once first. Never use a data root that a running node serves."""

    def __init__(self, root):
        self.root = root
        for name in (JOURNAL_OLD, JOURNAL):
            path = os.path.join(root, name)
            if os.path.exists(path) and (name == JOURNAL_OLD or os.path.getsize(path) > JOURNAL_HEADER):
                raise RuntimeError(
                    f"data root {root}: {path} holds record changes not yet in the page files; "
                    f"run `raidakx serve -config {os.path.join(root, 'config.toml')}` and stop it "
                    "(SIGINT) once, which applies and removes the journal, then retry")
        self._dirs = {}
        try:
            for d in (*abi.DIRS, "Data"):
                self._dirs[d] = os.open(os.path.join(root, d), os.O_RDONLY | os.O_DIRECTORY)
        except OSError as e:
            self.close()
            raise RuntimeError(f"data root {root}: no usable {d}/ folder: {e}") from None
        for name in os.listdir(self._dirs["Keys"]):
            if name.startswith(KEYS_TEMP_PREFIX):  # left by a crash
                os.unlink(name, dir_fd=self._dirs["Keys"])
        self._pages = {}  # (den, page) -> bytearray: written, not yet committed
        self._failed = False  # the last commit failed: retry before reading

    def close(self):
        for fd in self._dirs.values():
            os.close(fd)
        self._dirs = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def random(self, n):
        return secrets.token_bytes(n)

    def now_ns(self):
        return time.time_ns()

    def lock_page(self, den, page):
        pass

    def unlock_page(self, den, page):
        pass

    def _load_page(self, den, page):
        """_load_page returns the page file's bytes (zeros when missing)."""
        try:
            fd = os.open(page_path(den, page), os.O_RDONLY | os.O_NOFOLLOW, dir_fd=self._dirs["Data"])
        except FileNotFoundError:
            return bytearray(abi.PAGE_FILE)
        with os.fdopen(fd, "rb") as f:
            data = f.read(abi.PAGE_FILE + 1)
        if len(data) != abi.PAGE_FILE:
            raise OSError(f"page file Data/{page_path(den, page)} has {len(data)} bytes, want {abi.PAGE_FILE}")
        return bytearray(data)

    def read_record(self, den, sn):
        if self._failed:
            self.commit()
        key, off = (den, sn // abi.PAGE_RECORDS), sn % abi.PAGE_RECORDS * abi.RECORD
        page = self._pages.get(key) or self._load_page(*key)
        return bytes(page[off:off + abi.RECORD])

    def write_record(self, den, sn, rec):
        key, off = (den, sn // abi.PAGE_RECORDS), sn % abi.PAGE_RECORDS * abi.RECORD
        if key not in self._pages:
            self._pages[key] = self._load_page(*key)
        self._pages[key][off:off + abi.RECORD] = rec

    def commit(self):
        self._failed = True
        data = self._dirs["Data"]
        for key in sorted(self._pages):
            folder, name = os.path.split(page_path(*key))
            _makedirs(data, folder)
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY, dir_fd=data)
            try:
                _replace(fd, name, "." + name + ".tmp", self._pages[key])
            finally:
                os.close(fd)
            del self._pages[key]
        self._failed = False

    def read_file(self, dir, name):
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=self._dirs[dir])
        except FileNotFoundError:
            return None
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OSError(f"{dir}/{name} is not a regular file")
            return f.read()

    def write_file(self, dir, name, data):
        if dir != "Keys":
            raise PermissionError(f"{dir}/ is read only")
        _replace(self._dirs["Keys"], name, KEYS_TEMP_PREFIX + secrets.token_hex(8), data)


def _replace(dir_fd, name, temp, data):
    """_replace puts data in place as file name of folder dir_fd, whole and
    durably: temporary file, fsync, rename over, fsync the folder."""
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o640, dir_fd=dir_fd)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        os.unlink(temp, dir_fd=dir_fd)
        raise
    os.fsync(dir_fd)


def _makedirs(dir_fd, path):
    """_makedirs creates the missing folders of path under dir_fd, syncing
    each parent so that a new page file's folder survives a crash too."""
    parent = ""
    for part in path.split("/"):
        here = os.path.join(parent, part)
        try:
            os.mkdir(here, 0o750, dir_fd=dir_fd)
        except FileExistsError:
            pass
        else:
            pfd = os.open(parent or ".", os.O_RDONLY | os.O_DIRECTORY, dir_fd=dir_fd)
            try:
                os.fsync(pfd)
            finally:
                os.close(pfd)
        parent = here
