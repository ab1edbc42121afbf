"""host runs build/keyexchange.wasm under Wasmtime for a Python program:
the checks of abi/ABI.md section 5, the imports of section 4 over a
backend (backends.py), and the failure policy of section 6.

A backend never sees a guest pointer: every pointer, length, file name and
page lock is checked here first. Misuse by the module raises Fault inside
the import, which becomes a trap; conditions the module handles return the
negative errno.

WASI is Wasmtime's own (wasi_config_new with nothing inherited, no
preopens, no arguments or environment): the same implementation the Go
wasmtime engine links, with the real clock and random source the Go
runtime needs, and nothing to write and keep in step here. The guest's
stderr (a Go panic's trace) goes to the log.

Time limits use epoch interruption, not fuel: the engine's epoch advances
every TICK seconds while a call runs (_Ticker) and each call's deadline is
request_timeout in ticks, so one compiled Module serves hosts in several
threads, each with its own limit.
"""

import contextlib
import ctypes
import errno as errnos
import hashlib
import hmac
import logging
import math
import threading
import time
from ctypes import byref, c_void_p

try:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
except ImportError as e:  # the standard library has no AES
    raise ImportError(f"raidakx needs the cryptography package for AES-CTR ({e}); "
                      "Debian: apt-get install python3-cryptography") from None

from . import _wasmtime as wt
from . import abi

logger = logging.getLogger("raidakx")
logger.addHandler(logging.NullHandler())

DEFAULT_MEMORY_LIMIT = 64 << 20  # as the Go host: the Go runtime needs a few MiB
TICK = 0.01  # seconds per epoch tick
_MASK = 0xFFFFFFFF
_KINDS = {abi.I32: wt.I32, abi.I64: wt.I64}
_LEVELS = (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR)  # log levels -1..2


class AbiError(Exception):
    """AbiError lists every way a module fails the ABI (section 5)."""

    def __init__(self, problems):
        self.problems = problems
        super().__init__(f"module does not implement raidakx ABI v{abi.VERSION}:\n  " + "\n  ".join(problems))


class Trap(Exception):
    """Trap: a call into the module failed; the instance is discarded."""


class Fault(Trap):
    """Fault: the module misused an import or the ABI (a trap)."""


class _Errno(Exception):
    """_Errno ends an import with a negative errno."""

    def __init__(self, errno):
        super().__init__(errno)
        self.errno = errno


def _sig(params, results):
    return f"({', '.join(params)}) -> ({', '.join(results)})"


def _functype_sig(ft):
    """_functype_sig is a wasm_functype_t's (params, results) as names."""
    L = wt.lib()
    names = lambda vec: tuple(wt.VALKIND_NAMES.get(k, f"0x{k:02x}") for k in wt.kinds(vec))
    return names(L.wasm_functype_params(ft)), names(L.wasm_functype_results(ft))


def check_abi(module_ptr):
    """check_abi returns the problems of section 5 that a compiled module
    shows before it runs (the version needs an instance)."""
    L = wt.lib()
    problems = []
    vec = wt.PtrVec()
    L.wasmtime_module_imports(module_ptr, byref(vec))
    for i in range(vec.size):
        it = vec.data[i]
        mod, name = wt.name(L.wasm_importtype_module(it)), wt.name(L.wasm_importtype_name(it))
        ft = L.wasm_externtype_as_functype_const(L.wasm_importtype_type(it))
        if not ft:
            problems.append(f"imports {mod}.{name}, which is not a function")
        elif mod == "raidakx":
            got = _functype_sig(ft)
            want = abi.IMPORTS.get(name)
            if want is None:
                problems.append(f"imports raidakx.{name}, which the ABI does not define")
            elif got != want:
                problems.append(f"imports raidakx.{name} as {_sig(*got)}, want {_sig(*want)}")
        elif mod != "wasi_snapshot_preview1":
            problems.append(f"imports {mod}.{name} from a module this host does not provide")
    L.wasm_importtype_vec_delete(byref(vec))
    exports = {}
    L.wasmtime_module_exports(module_ptr, byref(vec))
    for i in range(vec.size):
        et = vec.data[i]
        ty = L.wasm_exporttype_type(et)
        kind = L.wasm_externtype_kind(ty)
        sig = None
        if kind == wt.EXTERN_FUNC:
            ft = L.wasm_externtype_as_functype_const(ty)
            sig = _functype_sig(ft)
        exports[wt.name(L.wasm_exporttype_name(et))] = (kind, sig)
    L.wasm_exporttype_vec_delete(byref(vec))
    for name, want in sorted(abi.EXPORTS.items()):
        kind, got = exports.get(name, (None, None))
        if kind != wt.EXTERN_FUNC:
            problems.append(f"does not export function {name}")
        elif got != want:
            problems.append(f"exports {name} as {_sig(*got)}, want {_sig(*want)}")
    if exports.get("memory", (None,))[0] != wt.EXTERN_MEMORY:
        problems.append("does not export memory")
    return problems


class _Ticker:
    """_Ticker advances an engine's epoch every TICK seconds while at least
    one call runs in it, and sleeps otherwise."""

    def __init__(self, engine):
        self._engine = engine
        self._cond = threading.Condition()
        self._running = 0
        self._closed = False
        self._thread = None

    @staticmethod
    def ticks(timeout):
        """ticks is the deadline for timeout seconds: one tick more, since
        the first may come at once."""
        return math.ceil(timeout / TICK) + 1

    @contextlib.contextmanager
    def running(self):
        with self._cond:
            if self._closed:
                raise RuntimeError("raidakx: module closed")
            self._running += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="raidakx-epoch", daemon=True)
                self._thread.start()
            self._cond.notify()
        try:
            yield
        finally:
            with self._cond:
                self._running -= 1

    def _run(self):
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._running or self._closed)
                if self._closed:
                    return
            time.sleep(TICK)
            with self._cond:  # not while close() frees the engine
                if self._closed:
                    return
                wt.lib().wasmtime_engine_increment_epoch(self._engine)

    def close(self):
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()


class Module:
    """Module is keyexchange.wasm compiled and checked (section 5), from
    which hosts are made; compile once, load many. Close its hosts first."""

    def __init__(self, wasm: bytes):
        L = wt.lib()
        cfg = L.wasm_config_new()
        L.wasmtime_config_epoch_interruption_set(cfg, True)
        self._engine = L.wasm_engine_new_with_config(cfg)  # takes cfg
        self._module = None
        self._ticker = _Ticker(self._engine)
        try:
            mod = c_void_p()
            wasm = bytes(wasm)
            wt.check(L.wasmtime_module_new(self._engine, wasm, len(wasm), byref(mod)))
            self._module = mod.value
            problems = check_abi(self._module)
            if problems:
                raise AbiError(problems)
        except BaseException:
            self.close()
            raise

    def close(self):
        L = wt.lib()
        if self._engine:
            self._ticker.close()
            if self._module:
                L.wasmtime_module_delete(self._module)
            L.wasm_engine_delete(self._engine)
            self._engine = self._module = None


def load(wasm, backend, *, raida_id, coin_id, request_timeout=1.0, memory_limit=DEFAULT_MEMORY_LIMIT):
    """load returns a Host running wasm (the module's bytes, or a Module
    to share one compilation) over backend, configured as node raida_id
    (0..24) for coin_id (0..65535). Each request may run request_timeout
    seconds in the module; an instance may grow to memory_limit bytes."""
    own = not isinstance(wasm, Module)
    module = Module(wasm) if own else wasm
    try:
        return Host(module, backend, raida_id, coin_id, request_timeout, memory_limit, own)
    except BaseException:
        if own:
            module.close()
        raise


class Host:
    """Host is one instance of the module at a time over a backend; handle
    answers one request. Not for two threads at once: make a Host per
    thread (from one Module)."""

    def __init__(self, module, backend, raida_id, coin_id, request_timeout=1.0,
                 memory_limit=DEFAULT_MEMORY_LIMIT, own_module=False):
        if not (isinstance(raida_id, int) and 0 <= raida_id <= 24):
            raise ValueError(f"raida_id {raida_id!r}: want 0..24")
        if not (isinstance(coin_id, int) and 0 <= coin_id <= 0xFFFF):
            raise ValueError(f"coin_id {coin_id!r}: want 0..65535")
        if not request_timeout > 0:
            raise ValueError(f"request_timeout {request_timeout!r}: want > 0 seconds")
        L = wt.lib()
        self._module, self._own_module = module, own_module
        self._backend = backend
        self._raida_id, self._coin_id = raida_id, coin_id
        self._timeout, self._ticks = request_timeout, _Ticker.ticks(request_timeout)
        self._memory_limit = memory_limit
        self._store = self._ctx = None
        self._held = None  # (den, page) of the page lock the instance holds
        self._wrote = False  # the request wrote a record or a file
        self._fault = None  # the Fault of the import that trapped
        self._stderr = bytearray()
        self.last_fault = None  # why the last request was answered 252, or None
        self._callbacks = [wt.WriteCallback(self._write_stderr)]  # kept alive: Wasmtime calls them
        self._linker = L.wasmtime_linker_new(module._engine)
        try:
            wt.check(L.wasmtime_linker_define_wasi(self._linker))
            for name, (params, results) in abi.IMPORTS.items():
                self._define(name, params, results)
            self._instantiate()
        except BaseException:
            self.close()
            raise

    @property
    def backend(self):
        return self._backend

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """close frees the instance (and the Module when load compiled it)."""
        self._drop_instance()
        if self._linker:
            wt.lib().wasmtime_linker_delete(self._linker)
            self._linker = None
            if self._own_module:
                self._module.close()

    # ---- sections 2, 3 and 6 ------------------------------------------------

    def handle(self, request: bytes) -> bytes:
        """handle answers request: the response, or b"" for no answer. A
        failure answers 252 and sets last_fault."""
        if not self._linker:
            raise RuntimeError("raidakx: host closed")
        req = bytes(request[:abi.REQUEST_CAP])
        self._wrote, self.last_fault = False, None
        try:
            if self._store is None:
                self._instantiate()
            ctypes.memmove(self._region(self._req_ptr, len(req))[0], req, len(req))
            n = self._call("raidakx_handle", len(req)) & _MASK
            if self._held:
                raise Fault(f"raidakx_handle returned holding page {self._held[1]} of den {self._held[0]}")
            if n and not abi.HEADER <= n <= abi.RESPONSE_CAP:
                raise Fault(f"raidakx_handle returned a {n}-byte response")
            resp = self._read(self._region(self._resp_ptr, n))
        except (Trap, AbiError, wt.WasmtimeError) as e:
            self.last_fault = str(e)
            self._log(2, f"request answered 252, instance replaced: {e}")
            self._drop_instance()
            resp = abi.internal_error(req, self._raida_id)
        # Writes done before a failure stay done, and are durable before
        # any answer, a 252 included (as the Go host).
        if self._wrote:
            try:
                self._backend.commit()
            except Exception as e:
                self.last_fault = f"commit failed: {e!r}"
                self._log(2, f"request answered 252: {self.last_fault}")
                resp = abi.internal_error(req, self._raida_id)
        return resp

    def _instantiate(self):
        L = wt.lib()
        self._store = L.wasmtime_store_new(self._module._engine, None, None)
        L.wasmtime_store_limiter(self._store, self._memory_limit, -1, -1, -1, -1)
        self._ctx = L.wasmtime_store_context(self._store)
        wasi = L.wasi_config_new()  # nothing inherited: no files, args or environment
        L.wasi_config_set_stderr_custom(wasi, self._callbacks[0], None, None)
        wt.check(L.wasmtime_context_set_wasi(self._ctx, wasi))  # takes wasi
        inst, trap = wt.Instance(), c_void_p()
        self._fault = None
        L.wasmtime_context_set_epoch_deadline(self._ctx, self._ticks)
        self._check_call(L.wasmtime_linker_instantiate(self._linker, self._ctx, self._module._module,
                                                       byref(inst), byref(trap)), trap)
        self._funcs = {}
        for name in abi.EXPORTS:
            ext = wt.Extern()
            L.wasmtime_instance_export_get(self._ctx, byref(inst), name.encode(), len(name), byref(ext))
            self._funcs[name] = ext.of.func  # check_abi made sure they are functions
        ext = wt.Extern()
        L.wasmtime_instance_export_get(self._ctx, byref(inst), b"memory", 6, byref(ext))
        self._memory = ext.of.memory
        self._call("_initialize")
        version = self._call("raidakx_abi_version")
        if version != abi.VERSION:
            raise AbiError([f"raidakx_abi_version() = {version}, want {abi.VERSION}"])
        rc = self._call("raidakx_configure", self._raida_id, self._coin_id)
        if rc != abi.OK:
            raise ValueError(f"raidakx_configure({self._raida_id}, {self._coin_id}) = {rc}")
        self._req_ptr = self._call("raidakx_request_buffer") & _MASK
        self._resp_ptr = self._call("raidakx_response_buffer") & _MASK

    def _drop_instance(self):
        """_drop_instance releases the page lock and frees the instance."""
        self._release()
        if self._store:
            wt.lib().wasmtime_store_delete(self._store)
            self._store = self._ctx = None

    def _call(self, name, *args):
        """_call calls export name with i32 args within request_timeout and
        returns its i32 result (None when it has none)."""
        L = wt.lib()
        argv = (wt.Val * max(1, len(args)))()
        for i, a in enumerate(args):
            argv[i].kind, argv[i].of.i32 = wt.I32, a
        nres = len(abi.EXPORTS[name][1])
        res, trap = (wt.Val * 1)(), c_void_p()
        self._fault = None
        L.wasmtime_context_set_epoch_deadline(self._ctx, self._ticks)
        with self._module._ticker.running():
            err = L.wasmtime_func_call(self._ctx, byref(self._funcs[name]), argv, len(args), res, nres, byref(trap))
        self._check_call(err, trap)
        return res[0].of.i32 if nres else None

    def _check_call(self, err, trap):
        """_check_call raises the Trap of a failed call, logging what the
        module wrote on stderr."""
        if self._stderr:
            self._log(2, "module stderr: " + self._stderr.decode("utf-8", "replace").strip())
            self._stderr.clear()
        if not err and not trap:
            return
        msg, code = (wt.take_error(err), None) if err else wt.take_trap(trap)
        if self._fault is not None:
            raise self._fault
        if code == wt.TRAP_CODE_INTERRUPT:
            raise Trap(f"interrupted: ran longer than request_timeout ({self._timeout:g} s)")
        raise Trap("trap: " + msg.split("\n\nStack backtrace:")[0])  # not Wasmtime's own stack

    def _write_stderr(self, _data, buf, n):
        if len(self._stderr) < 4096:
            self._stderr += ctypes.string_at(buf, min(n, 4096 - len(self._stderr)))
        return n

    # ---- section 4: the imports ---------------------------------------------

    def _define(self, name, params, results):
        """_define links import raidakx.name to method _import_name."""
        L = wt.lib()
        fn = getattr(self, "_import_" + name)
        kinds = [_KINDS[p] for p in params]
        rkind = _KINDS[results[0]] if results else None

        def callback(_env, _caller, args, _nargs, res, _nres):
            try:
                try:
                    v = fn(*[args[i].of.i64 if k == wt.I64 else args[i].of.i32 for i, k in enumerate(kinds)])
                except _Errno as e:
                    v = e.errno
                if rkind == wt.I64:
                    res[0].kind, res[0].of.i64 = rkind, v
                elif rkind == wt.I32:
                    res[0].kind, res[0].of.i32 = rkind, v
                return None
            except Exception as e:  # a trap of the calling instance
                self._fault = e if isinstance(e, Fault) else Fault(f"import {name} raised {e!r}")
                msg = str(self._fault).encode()
                return L.wasmtime_trap_new(msg, len(msg))

        cb = wt.FuncCallback(callback)
        self._callbacks.append(cb)
        ty = wt.functype(kinds, [rkind] if results else [])
        try:
            wt.check(L.wasmtime_linker_define_func(self._linker, b"raidakx", 7, name.encode(), len(name), ty,
                                                   cb, None, None))
        finally:
            L.wasm_functype_delete(ty)

    def _region(self, ptr, n):
        """_region returns (address, n) of guest memory [ptr, ptr+n), both
        read as unsigned; a Fault unless all of it is inside memory."""
        L = wt.lib()
        ptr, n = ptr & _MASK, n & _MASK
        size = L.wasmtime_memory_data_size(self._ctx, byref(self._memory))
        if ptr + n > size:
            raise Fault(f"[0x{ptr:x}, +{n}) is outside memory ({size} bytes)")
        return (L.wasmtime_memory_data(self._ctx, byref(self._memory)) or 0) + ptr, n

    @staticmethod
    def _read(region):
        return ctypes.string_at(*region) if region[1] else b""

    @staticmethod
    def _write(region, data):
        assert len(data) <= region[1]
        ctypes.memmove(region[0], data, len(data))

    def _log(self, level, msg):
        if hasattr(self._backend, "log"):
            try:
                self._backend.log(level, msg)
                return
            except Exception:
                pass
        logger.log(_LEVELS[level + 1], msg)

    def _storage(self, what, fn, *args):
        """_storage calls a backend method; an exception becomes ErrNoSpace
        (OSError ENOSPC) or ErrIO, and is logged."""
        try:
            return fn(*args)
        except Exception as e:
            self._log(2, f"import {what} failed: {type(e).__name__}: {e}")
            full = isinstance(e, OSError) and e.errno == errnos.ENOSPC
            raise _Errno(abi.ERR_NO_SPACE if full else abi.ERR_IO) from None

    def _release(self):
        held, self._held = self._held, None
        if held:
            self._unlock(*held)

    def _unlock(self, den, page):
        try:
            self._backend.unlock_page(den, page)
        except Exception as e:
            self._log(2, f"unlock_page({den}, {page}) failed: {e!r}")

    def _read_record(self, den, sn):
        rec = bytes(self._backend.read_record(den, sn))
        if len(rec) != abi.RECORD:
            raise ValueError(f"read_record({den}, {sn}) returned {len(rec)} bytes, want {abi.RECORD}")
        return rec

    def _import_random(self, ptr, n):
        dst = self._region(ptr, n)
        try:
            data = bytes(self._backend.random(dst[1]))
        except Exception as e:
            self._log(2, f"random failed: {e!r}")
            return abi.ERR_NO_RANDOM
        if len(data) != dst[1]:
            self._log(2, f"random returned {len(data)} bytes, want {dst[1]}")
            return abi.ERR_NO_RANDOM
        self._write(dst, data)
        return abi.OK

    def _import_page_lock(self, den, page):
        page &= _MASK
        if self._held:
            raise Fault(f"page_lock({den}, {page}) while holding page {self._held[1]} of den {self._held[0]}")
        if not (abi.MIN_DEN <= den <= abi.MAX_DEN and page < abi.PAGES):
            return abi.ERR_NO_RECORD
        self._storage("page_lock", self._backend.lock_page, den, page)
        self._held = (den, page)
        return abi.OK

    def _import_page_unlock(self, den, page):
        page &= _MASK
        if self._held != (den, page):
            raise Fault(f"page_unlock({den}, {page}) of a page not held")
        self._release()
        return abi.OK

    def _import_record_read(self, den, sn, ptr):
        dst = self._region(ptr, abi.RECORD)
        sn &= _MASK
        page = sn // abi.PAGE_RECORDS
        if self._held:
            if self._held != (den, page):
                raise Fault(f"record_read({den}, {sn}) without its page lock")
            rec = self._storage("record_read", self._read_record, den, sn)
        else:  # ABI v2: the read takes the page's lock for itself
            if not (abi.MIN_DEN <= den <= abi.MAX_DEN and sn < abi.SN_LIMIT):
                return abi.ERR_NO_RECORD
            self._storage("record_read", self._backend.lock_page, den, page)
            try:
                rec = self._storage("record_read", self._read_record, den, sn)
            finally:
                self._unlock(den, page)
        self._write(dst, rec)
        return abi.OK

    def _import_record_write(self, den, sn, ptr):
        src = self._region(ptr, abi.RECORD)
        sn &= _MASK
        if self._held != (den, sn // abi.PAGE_RECORDS):
            raise Fault(f"record_write({den}, {sn}) without its page lock")
        self._wrote = True
        self._storage("record_write", self._backend.write_record, den, sn, self._read(src))
        return abi.OK

    def _name(self, dir, region):
        """_name checks dir (a Fault unless 0 or 1) and returns the file name,
        or None when it is not a plain name."""
        if dir not in (0, 1):
            raise Fault(f"unknown dir {dir}")
        name = self._read(region) if region[1] <= 255 else b""
        return name.decode() if abi.valid_name(name) else None

    def _import_file_read(self, dir, name_ptr, name_len, buf_ptr, buf_len):
        name_r, buf = self._region(name_ptr, name_len), self._region(buf_ptr, buf_len)
        name = self._name(dir, name_r)
        if name is None:
            return abi.ERR_BAD_NAME
        data = self._storage("file_read", self._backend.read_file, abi.DIRS[dir], name)
        if data is None:
            return abi.ERR_NOT_FOUND
        data = bytes(data[:buf[1]])
        self._write(buf, data)
        return len(data)

    def _import_file_write(self, dir, name_ptr, name_len, data_ptr, data_len):
        name_r, src = self._region(name_ptr, name_len), self._region(data_ptr, data_len)
        name = self._name(dir, name_r)
        if dir == 0:
            return abi.ERR_DENIED  # coins/ is read only
        if name is None:
            return abi.ERR_BAD_NAME
        if src[1] > abi.MAX_FILE:
            return abi.ERR_TOO_LARGE
        self._wrote = True
        self._storage("file_write", self._backend.write_file, "Keys", name, self._read(src))
        return abi.OK

    def _import_time_now(self):
        return int(self._backend.now_ns())

    def _import_log(self, level, ptr, n):
        addr, n = self._region(ptr, n)  # the whole pair must be in memory
        msg = self._read((addr, min(n, abi.MAX_LOG))).decode("utf-8", "replace")
        self._log(max(-1, min(2, level)), "module: " + msg)

    @staticmethod
    def _crypto_len(what, n):
        if n > abi.MAX_CRYPTO:
            raise Fault(f"{what} of {n} bytes, more than {abi.MAX_CRYPTO}")

    def _import_aes_ctr(self, key_ptr, key_len, iv_ptr, buf_ptr, buf_len):
        key, iv, buf = self._region(key_ptr, key_len), self._region(iv_ptr, 16), self._region(buf_ptr, buf_len)
        if key[1] not in (16, 32):
            raise Fault(f"aes_ctr with a {key[1]}-byte key, want 16 or 32")
        self._crypto_len("aes_ctr", buf[1])
        # OpenSSL's CTR carries through the whole 16-byte counter block, as
        # section 4 requires.
        enc = Cipher(algorithms.AES(self._read(key)), modes.CTR(self._read(iv))).encryptor()
        self._write(buf, enc.update(self._read(buf)))

    def _import_sha256(self, data_ptr, data_len, out_ptr):
        data, out = self._region(data_ptr, data_len), self._region(out_ptr, 32)
        self._crypto_len("sha256", data[1])
        self._write(out, hashlib.sha256(self._read(data)).digest())

    def _import_hmac_sha256(self, key_ptr, key_len, data_ptr, data_len, out_ptr):
        key, data, out = self._region(key_ptr, key_len), self._region(data_ptr, data_len), self._region(out_ptr, 32)
        self._crypto_len("hmac_sha256", key[1])
        self._crypto_len("hmac_sha256", data[1])
        self._write(out, hmac.digest(self._read(key), self._read(data), "sha256"))
