// raidakx.mjs: runs build/keyexchange.wasm (abi/ABI.md, ABI version 2) in
// any JavaScript engine with WebAssembly. Dependency-free; it brings its
// own WASI preview-1 imports (the ten the Go runtime calls), so it needs
// neither node:wasi nor any other Node.js module: in Node.js it takes
// node:crypto for the crypto imports unless given a provider.
//
//   import { load, MemoryBackend } from 'raidakx';          // host/js
//   import { FileBackend } from 'raidakx/file';             // Node.js only
//   const node = await load(wasmBytes, new FileBackend('/srv/raida'), { raidaId: 14, coinId: 6 });
//   const answer = node.handle(request);   // Uint8Array; empty: no answer
//   node.close();
//
// load(wasm, backend, options)
//   wasm     the module's bytes, or what compile(bytes) returned (compile
//            once, load many times)
//   backend  the host's storage and environment: abi/ABI.md section 8 and
//            memory.mjs (MemoryBackend) / file.mjs (FileBackend). Its
//            methods: random(buf), lockPage(den, page), unlockPage(den,
//            page), readRecord(den, sn) -> 17 bytes, writeRecord(den, sn,
//            rec), commit(), readFile(dir, name) -> bytes | null,
//            writeFile(dir, name, data), now() -> BigInt ns, log(level,
//            message) (optional). All synchronous.
//   options  raidaId (0..24) and coinId (0..65535): the node's identity;
//            requestTimeoutMs (optional, see below); crypto (optional):
//            { aesCtr(key, iv, data), sha256(data), hmacSha256(key, data) },
//            synchronous, each returning a new Uint8Array (the inputs are
//            views of the module's memory, valid during the call only).
//            Without it, load imports node:crypto. A browser has no
//            synchronous AES or SHA-256 (Web Crypto's are async), so a
//            browser page passes a pure-JavaScript implementation, e.g.
//            one built on @noble/ciphers and @noble/hashes.
// It returns { handle(request) -> Uint8Array, close(), stats() }.
//
// Like the Go host (abi/ABI.md section 6), handle answers 252 itself when
// the instance traps, misuses an import, returns holding a page lock or a
// length of 1-31 or over 4096, or when backend.commit() throws: the lock
// is released and the instance replaced by a new one of the same compiled
// module. Every write a failed request completed is committed before the
// 252, as the Go host does.
//
// What JavaScript cannot do, unlike the Go and Python hosts:
//   - Interrupt running WebAssembly. requestTimeoutMs is checked on every
//     import call: a module past it traps there (252). A module that loops
//     without calling an import (build/faulty.wasm behaviour 3) hangs the
//     thread for good. In Node.js, loadIsolated (worker.mjs) runs the
//     instance in a worker thread that it terminates at requestTimeoutMs,
//     and answers 252; in a browser, run the kit in a Worker.
//   - Cap the module's memory: it declares its own, which may grow to
//     4 GiB (the Go host's memory_limit is 64 MiB).
//   - Sleep in poll_oneoff: it returns at once. The Go runtime only sleeps
//     there when every goroutine waits for a timer, which the module's
//     requests never do.
// A browser may refuse to instantiate a large module synchronously on its
// main thread (handle makes a new instance after a fault): use a Worker.

import { systemRandom } from './memory.mjs';

export { MemoryBackend, systemRandom, systemNow } from './memory.mjs';

export const ABI_VERSION = 2;
export const REQUEST_CAP = 32 + 65535, RESPONSE_CAP = 4096;
const HEADER = 32, HEADER48 = 48, RECORD = 17, SHA256_SIZE = 32, AES_BLOCK = 16;
const MAX_FILE = 4096, LOG_MAX = 1024, MAX_CRYPTO = 65536;
const MIN_DEN = -8, MAX_DEN = 6, PAGE = 1024, PAGES = 1000;
const STATUS_INTERNAL = 252;

// Errnos of abi/ABI.md section 4.
const OK = 0, ErrNotFound = -1, ErrIO = -2, ErrNoRecord = -3, ErrNoRandom = -4,
  ErrTooLarge = -5, ErrBadName = -6, ErrDenied = -7, ErrNoSpace = -9;
const DIRS = ['coins', 'Keys']; // dir 0 and dir 1
const NAME = /^[0-9A-Za-z_-][0-9A-Za-z._-]{0,254}$/;

// Signatures of the imports and exports (sections 3 and 4), and of the
// WASI imports this host provides, as the ABI check prints them.
const IMPORTS = {
  random: '(i32, i32) -> (i32)', page_lock: '(i32, i32) -> (i32)', page_unlock: '(i32, i32) -> (i32)',
  record_read: '(i32, i32, i32) -> (i32)', record_write: '(i32, i32, i32) -> (i32)',
  file_read: '(i32, i32, i32, i32, i32) -> (i32)', file_write: '(i32, i32, i32, i32, i32) -> (i32)',
  time_now: '() -> (i64)', log: '(i32, i32, i32) -> ()', aes_ctr: '(i32, i32, i32, i32, i32) -> ()',
  sha256: '(i32, i32, i32) -> ()', hmac_sha256: '(i32, i32, i32, i32, i32) -> ()',
};
const EXPORTS = {
  _initialize: '() -> ()', raidakx_abi_version: '() -> (i32)', raidakx_configure: '(i32, i32) -> (i32)',
  raidakx_handle: '(i32) -> (i32)', raidakx_request_buffer: '() -> (i32)', raidakx_response_buffer: '() -> (i32)',
};
const WASI = {
  args_get: '(i32, i32) -> (i32)', args_sizes_get: '(i32, i32) -> (i32)', clock_time_get: '(i32, i64, i32) -> (i32)',
  environ_get: '(i32, i32) -> (i32)', environ_sizes_get: '(i32, i32) -> (i32)', fd_write: '(i32, i32, i32, i32) -> (i32)',
  poll_oneoff: '(i32, i32, i32, i32) -> (i32)', proc_exit: '(i32) -> ()', random_get: '(i32, i32) -> (i32)',
  sched_yield: '() -> (i32)',
};
const BACKEND = ['random', 'lockPage', 'unlockPage', 'readRecord', 'writeRecord', 'commit', 'readFile', 'writeFile', 'now'];

// Fault is thrown from an import the module misused: it unwinds the wasm
// call like a trap, and the instance is discarded.
class Fault extends Error {}

// ---- section 5: checks before running -------------------------------------

// readFunctions returns the function imports and exports of a module's
// bytes with their signatures, which WebAssembly.Module.imports and
// .exports do not give. The bytes passed WebAssembly.compile already.
function readFunctions(bytes) {
  let off = 8; // magic and version
  const leb = () => {
    let v = 0, scale = 1, b;
    do { b = bytes[off++]; v += (b & 0x7f) * scale; scale *= 128; } while (b & 0x80);
    return v;
  };
  const vec = (item) => Array.from({ length: leb() }, item);
  const name = () => { const n = leb(); return new TextDecoder().decode(bytes.subarray(off, off += n)); };
  const limits = () => { const flags = bytes[off++]; leb(); if (flags & 1) leb(); }; // min, max
  const VT = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128', 0x70: 'funcref', 0x6f: 'externref' };
  const valtype = () => { const t = bytes[off++]; return VT[t] ?? `0x${t.toString(16).padStart(2, '0')}`; };
  const types = [], imports = [], exports = [], funcs = [], others = [];
  while (off < bytes.length) {
    const id = bytes[off++], size = leb(), end = off + size;
    if (id === 1) {
      for (let n = leb(); n > 0; n--) {
        if (bytes[off++] !== 0x60) throw new Error('raidakx: cannot check the module: it has a type that is not a plain function type');
        const params = vec(valtype), results = vec(valtype);
        types.push(`(${params.join(', ')}) -> (${results.join(', ')})`);
      }
    } else if (id === 2) {
      for (let n = leb(); n > 0; n--) {
        const module = name(), field = name(), kind = bytes[off++];
        if (kind === 0) imports.push({ module, name: field, sig: types[leb()] });
        else others.push(`${module}.${field}`);
        if (kind === 1) { off++; limits(); } // table: reftype, limits
        if (kind === 2) limits(); // memory
        if (kind === 3) off += 2; // global: valtype, mutability
        if (kind === 4) { off++; leb(); } // tag: attribute, type
      }
    } else if (id === 3) {
      funcs.push(...vec(leb));
    } else if (id === 7) {
      for (let n = leb(); n > 0; n--) {
        const field = name(), kind = bytes[off++], index = leb();
        if (kind === 0) exports.push({ name: field, sig: index < imports.length ? imports[index].sig : types[funcs[index - imports.length]] });
        if (kind === 2) exports.push({ name: field, memory: true });
      }
    }
    off = end;
  }
  return { imports, exports, others };
}

// checkModule lists every way the module's bytes fail the ABI, in the
// order and words of the Go host's engine.CheckABI.
function checkModule(bytes) {
  const { imports, exports, others } = readFunctions(bytes);
  const problems = others.map((n) => `imports ${n}, which is not a function`);
  for (const { module, name, sig } of imports) {
    const want = { raidakx: IMPORTS, wasi_snapshot_preview1: WASI }[module];
    if (!want) problems.push(`imports ${module}.${name} from a module this host does not provide`);
    else if (!Object.hasOwn(want, name)) problems.push(`imports ${module}.${name}, which ${module === 'raidakx' ? 'the ABI does not define' : 'this host does not provide'}`);
    else if (sig !== want[name]) problems.push(`imports ${module}.${name} as ${sig}, want ${want[name]}`);
  }
  for (const [name, want] of Object.entries(EXPORTS).sort()) {
    const e = exports.find((x) => x.name === name && !x.memory);
    if (!e) problems.push(`does not export function ${name}`);
    else if (e.sig !== want) problems.push(`exports ${name} as ${e.sig}, want ${want}`);
  }
  if (!exports.some((e) => e.name === 'memory' && e.memory)) problems.push('does not export memory');
  return problems;
}

const checked = new WeakSet(); // modules compile() returned

// compile compiles and checks the module's bytes (section 5). It throws,
// listing every problem, for a module that does not implement the ABI.
export async function compile(bytes) {
  const u8 = ArrayBuffer.isView(bytes) ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : new Uint8Array(bytes);
  const module = await WebAssembly.compile(u8);
  const problems = checkModule(u8);
  if (problems.length) throw new Error(`module does not implement raidakx ABI v${ABI_VERSION}:\n  ${problems.join('\n  ')}`);
  checked.add(module);
  return module;
}

// ---- the crypto provider ---------------------------------------------------

// nodeCrypto returns the provider over node:crypto, imported only when the
// caller gave none, so that the kit itself loads in a browser.
async function nodeCrypto() {
  let c;
  try {
    c = await import('node:crypto');
  } catch {
    throw new Error('raidakx: no crypto provider: pass options.crypto = { aesCtr, sha256, hmacSha256 } ' +
      '(synchronous; Web Crypto is asynchronous and cannot serve the imports)');
  }
  return {
    // OpenSSL's CTR increments the whole 16-byte counter block, as ABI.md says.
    aesCtr: (key, iv, data) => c.createCipheriv(`aes-${key.length * 8}-ctr`, key, iv).update(data),
    sha256: (data) => c.createHash('sha256').update(data).digest(),
    hmacSha256: (key, data) => c.createHmac('sha256', key).update(data).digest(),
  };
}

// admitRequest checks a call of handle against the kit's state (closed,
// or busy with a request: a backend method called handle) and returns the
// request cut to REQUEST_CAP. Misuse throws; a request never does.
export function admitRequest(request, closed, busy) {
  if (closed) throw new Error('raidakx: handle after close');
  if (busy) throw new Error('raidakx: handle called while a request runs (from a backend method?)');
  if (!(request instanceof Uint8Array)) throw new TypeError('raidakx: handle wants a Uint8Array');
  return request.subarray(0, REQUEST_CAP);
}

// ---- section 6: the 252 answer ----------------------------------------------

// internalError is the answer of section 6 to req (abi.PutInternalError):
// empty for a packet too short to be answered. worker.mjs answers with it
// too.
export function internalError(req, raidaId) {
  const long = req.length >= 17 && (req[16] === 4 || req[16] === 5);
  if (req.length < (long ? 17 : HEADER)) return new Uint8Array(0);
  const resp = new Uint8Array(long ? HEADER48 : HEADER);
  const headerOK = req[0] === 1 && req[1] === 0 && req[2] === raidaId && req[4] <= 15;
  resp[0] = raidaId;
  resp[2] = STATUS_INTERNAL;
  resp[3] = headerOK ? req[4] : 0;
  if (long) { // PROTOCOL.md section 6.6
    resp[16] = req[16];
    if (req.length >= HEADER48) resp.set(req.subarray(46, 48), 46);
  } else {
    resp[5] = 1; // one frame
    resp.set(req.subarray(30, 32), 6); // the echo bytes
  }
  return resp;
}

// ---- load ------------------------------------------------------------------

export async function load(wasm, backend, { raidaId, coinId, requestTimeoutMs = 0, crypto } = {}) {
  if (!Number.isInteger(raidaId) || raidaId < 0 || raidaId > 24) throw new Error(`raidakx: raidaId ${raidaId}: want an integer 0..24`);
  if (!Number.isInteger(coinId) || coinId < 0 || coinId > 0xffff) throw new Error(`raidakx: coinId ${coinId}: want an integer 0..65535`);
  if (!(requestTimeoutMs >= 0)) throw new Error(`raidakx: requestTimeoutMs ${requestTimeoutMs}: want a number >= 0 (0: no limit)`);
  const missing = BACKEND.filter((m) => typeof backend?.[m] !== 'function');
  if (missing.length) throw new Error(`raidakx: the backend has no method ${missing.join(', ')}`);
  if (wasm instanceof WebAssembly.Module && !checked.has(wasm)) throw new Error('raidakx: pass the module\'s bytes or what compile() returned');
  const module = wasm instanceof WebAssembly.Module ? wasm : await compile(wasm);
  crypto ??= await nodeCrypto();
  const say = (level, message) => { try { backend.log?.(level, message); } catch { /* a logger must not fail a request */ } };

  // One instance at a time. lock is the page lock it holds, wrote whether
  // the request wrote a record or file, deadline (performance.now()) the
  // time past which an import call traps.
  let inst = null, lock = null, wrote = false, deadline = Infinity, busy = false, closed = false;
  const stats = { requests: 0, faults: 0, instances: 0 };

  // instantiate makes and configures an instance (section 2), through
  // make: WebAssembly.instantiate for the first one, new WebAssembly.Instance
  // (synchronous, inside handle) for a replacement.
  function instantiate(make) {
    let memory = null;
    const view = (ptr, len) => {
      ptr >>>= 0; len >>>= 0;
      const mem = new Uint8Array(memory.buffer); // fresh: memory may have grown
      if (ptr + len > mem.length) throw new Fault(`pointer 0x${ptr.toString(16)} length ${len} outside memory (${mem.length} bytes)`);
      return mem.subarray(ptr, ptr + len);
    };
    const tick = () => {
      if (performance.now() > deadline) throw new Fault(`request time limit of ${requestTimeoutMs} ms passed (checked at an import call)`);
    };
    const guard = (fns) => Object.fromEntries(Object.entries(fns).map(([n, f]) => [n, (...args) => { tick(); return f(...args); }]));
    const imports = { raidakx: guard(raidakxImports(view)), wasi_snapshot_preview1: guard(wasiImports(view)) };
    const done = (instance) => {
      const ex = instance.exports;
      memory = ex.memory;
      stats.instances++;
      ex._initialize();
      const version = ex.raidakx_abi_version();
      if (version !== ABI_VERSION) throw new Error(`raidakx: ABI version mismatch: module has v${version}, host has v${ABI_VERSION}`);
      const rc = ex.raidakx_configure(raidaId, coinId);
      if (rc !== 0) throw new Error(`raidakx: raidakx_configure(${raidaId}, ${coinId}) = ${rc}`);
      const reqPtr = ex.raidakx_request_buffer() >>> 0, respPtr = ex.raidakx_response_buffer() >>> 0;
      view(reqPtr, REQUEST_CAP); // the module's buffers must be inside its memory
      view(respPtr, RESPONSE_CAP);
      return { ex, memory, reqPtr, respPtr };
    };
    const made = make(module, imports);
    return made instanceof Promise ? made.then(done) : done(made);
  }

  // storageErrno maps an exception of a backend method to an errno.
  const storageErrno = (what, err) => {
    say(2, `raidakx: ${what} failed: ${err?.message ?? err}`);
    return err?.code === 'ENOSPC' ? ErrNoSpace : ErrIO;
  };
  const record = (rec) => {
    if (!(rec instanceof Uint8Array) || rec.length !== RECORD) throw new Error(`backend.readRecord returned ${rec?.length ?? rec}, want 17 bytes`);
    return rec;
  };
  const needLock = (what, den, sn) => {
    if (!lock || lock.den !== den || lock.page !== Math.floor(sn / PAGE)) throw new Fault(`${what}(${den}, ${sn}) without its page lock`);
  };
  const put = (dst, src, what) => {
    if (!(src instanceof Uint8Array) || src.length !== dst.length) throw new Error(`crypto.${what} returned ${src?.length ?? src}, want ${dst.length} bytes`);
    dst.set(src);
  };
  const cryptoLen = (what, len) => {
    if (len >>> 0 > MAX_CRYPTO) throw new Fault(`${what} of ${len >>> 0} bytes, more than ${MAX_CRYPTO}`);
  };

  // raidakxImports are the imports of section 4, in its order of checks.
  function raidakxImports(view) {
    // fileName returns the checked name, or null for a bad one.
    const fileName = (dir, ptr, len) => {
      if (dir !== 0 && dir !== 1) throw new Fault(`unknown folder ${dir}`);
      const b = view(ptr, len);
      const name = b.length <= 255 ? String.fromCharCode(...b) : ''; // one char per byte
      return NAME.test(name) ? name : null;
    };
    return {
      random(ptr, len) {
        const dst = view(ptr, len);
        try { backend.random(dst); } catch { return ErrNoRandom; }
        return OK;
      },
      page_lock(den, page) {
        page >>>= 0;
        if (lock) throw new Fault(`page_lock(${den}, ${page}) while holding (${lock.den}, ${lock.page})`);
        if (den < MIN_DEN || den > MAX_DEN || page >= PAGES) return ErrNoRecord;
        try { backend.lockPage(den, page); } catch (err) { return storageErrno('page_lock', err); }
        lock = { den, page };
        return OK;
      },
      page_unlock(den, page) {
        page >>>= 0;
        if (!lock || lock.den !== den || lock.page !== page) throw new Fault(`page_unlock(${den}, ${page}) of a page not held`);
        release();
        return OK;
      },
      record_read(den, sn, ptr) {
        const dst = view(ptr, RECORD);
        sn >>>= 0;
        if (lock) {
          needLock('record_read', den, sn);
          try { dst.set(record(backend.readRecord(den, sn))); } catch (err) { return storageErrno('record_read', err); }
          return OK;
        }
        // Holding none, the read takes the record's page lock (ABI v2).
        if (den < MIN_DEN || den > MAX_DEN || sn >= PAGE * PAGES) return ErrNoRecord;
        const page = Math.floor(sn / PAGE);
        try { backend.lockPage(den, page); } catch (err) { return storageErrno('record_read', err); }
        try {
          dst.set(record(backend.readRecord(den, sn)));
        } catch (err) {
          return storageErrno('record_read', err);
        } finally {
          unlock(den, page);
        }
        return OK;
      },
      record_write(den, sn, ptr) {
        const src = view(ptr, RECORD);
        sn >>>= 0;
        needLock('record_write', den, sn);
        wrote = true;
        try { backend.writeRecord(den, sn, src.slice()); } catch (err) { return storageErrno('record_write', err); }
        return OK;
      },
      file_read(dir, namePtr, nameLen, bufPtr, bufLen) {
        const name = fileName(dir, namePtr, nameLen);
        const dst = view(bufPtr, bufLen);
        if (name === null) return ErrBadName;
        let data;
        try { data = backend.readFile(DIRS[dir], name); } catch (err) { return storageErrno('file_read', err); }
        if (data == null) return ErrNotFound;
        if (!(data instanceof Uint8Array)) return storageErrno('file_read', new Error('backend.readFile returned no Uint8Array'));
        const n = Math.min(data.length, dst.length);
        dst.set(data.subarray(0, n));
        return n;
      },
      file_write(dir, namePtr, nameLen, dataPtr, dataLen) {
        const name = fileName(dir, namePtr, nameLen);
        const src = view(dataPtr, dataLen);
        if (dir === 0) return ErrDenied; // coins/ is read only
        if (name === null) return ErrBadName;
        if (src.length > MAX_FILE) return ErrTooLarge;
        wrote = true;
        try { backend.writeFile('Keys', name, src.slice()); } catch (err) { return storageErrno('file_write', err); }
        return OK;
      },
      time_now() {
        const ns = backend.now();
        if (typeof ns !== 'bigint') throw new Error(`backend.now() returned ${typeof ns}, want a BigInt`);
        return BigInt.asIntN(64, ns);
      },
      log(level, ptr, len) {
        const msg = view(ptr, len).subarray(0, LOG_MAX);
        say(Math.max(-1, Math.min(2, level)), `module: ${new TextDecoder().decode(msg)}`);
      },
      aes_ctr(keyPtr, keyLen, ivPtr, bufPtr, bufLen) {
        const key = view(keyPtr, keyLen), iv = view(ivPtr, AES_BLOCK), buf = view(bufPtr, bufLen);
        if (key.length !== 16 && key.length !== 32) throw new Fault(`aes_ctr with a ${key.length}-byte key, want 16 or 32`);
        cryptoLen('aes_ctr', bufLen);
        put(buf, crypto.aesCtr(key, iv, buf), 'aesCtr');
      },
      sha256(dataPtr, dataLen, outPtr) {
        const data = view(dataPtr, dataLen), out = view(outPtr, SHA256_SIZE);
        cryptoLen('sha256', dataLen);
        put(out, crypto.sha256(data), 'sha256');
      },
      hmac_sha256(keyPtr, keyLen, dataPtr, dataLen, outPtr) {
        const key = view(keyPtr, keyLen), data = view(dataPtr, dataLen), out = view(outPtr, SHA256_SIZE);
        cryptoLen('hmac_sha256', keyLen);
        cryptoLen('hmac_sha256', dataLen);
        put(out, crypto.hmacSha256(key, data), 'hmacSha256');
      },
    };
  }

  // wasiImports are the WASI preview-1 functions the Go runtime calls:
  // no arguments, no environment, real clocks and random bytes, stdout
  // and stderr lines to the log, proc_exit a trap.
  function wasiImports(view) {
    const EBADF = 8, EINVAL = 28;
    const dv = (ptr, len) => { const v = view(ptr, len); return new DataView(v.buffer, v.byteOffset, len); };
    const none = (countPtr, sizePtr) => { dv(countPtr, 4).setUint32(0, 0, true); dv(sizePtr, 4).setUint32(0, 0, true); return OK; };
    let line = '';
    return {
      args_get: () => OK,
      args_sizes_get: none,
      environ_get: () => OK,
      environ_sizes_get: none,
      clock_time_get(id, precision, ptr) {
        const out = dv(ptr, 8);
        if (id === 0) out.setBigUint64(0, BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6)), true);
        else if (id === 1) out.setBigUint64(0, BigInt(Math.round(performance.now() * 1e6)), true);
        else return EINVAL;
        return OK;
      },
      random_get(ptr, len) { systemRandom(view(ptr, len)); return OK; },
      fd_write(fd, iovs, iovsLen, nwrittenPtr) {
        const vecs = dv(iovs, (iovsLen >>> 0) * 8), nwritten = dv(nwrittenPtr, 4);
        if (fd !== 1 && fd !== 2) return EBADF;
        let n = 0;
        for (let i = 0; i < vecs.byteLength; i += 8) {
          const b = view(vecs.getUint32(i, true), vecs.getUint32(i + 4, true));
          n += b.length;
          line += new TextDecoder().decode(b.subarray(0, LOG_MAX));
        }
        const what = `module ${fd === 2 ? 'stderr' : 'stdout'}: `;
        for (let nl; (nl = line.indexOf('\n')) >= 0; line = line.slice(nl + 1)) say(fd === 2 ? 2 : 0, what + line.slice(0, Math.min(nl, LOG_MAX)));
        if (line.length > LOG_MAX) { say(fd === 2 ? 2 : 0, what + line.slice(0, LOG_MAX)); line = ''; }
        nwritten.setUint32(0, n, true);
        return OK;
      },
      poll_oneoff(inPtr, outPtr, nsubs, neventsPtr) {
        // Every subscription is answered at once (see the header).
        nsubs >>>= 0;
        const subs = view(inPtr, nsubs * 48), events = view(outPtr, nsubs * 32), count = dv(neventsPtr, 4);
        if (nsubs === 0) return EINVAL;
        events.fill(0);
        for (let i = 0; i < nsubs; i++) {
          const s = subs.subarray(i * 48), e = events.subarray(i * 32);
          e.set(s.subarray(0, 8)); // userdata
          const tag = s[8];
          e[10] = tag;
          if (tag !== 0) e[8] = EBADF; // fd subscriptions: no such descriptor
        }
        count.setUint32(0, nsubs, true);
        return OK;
      },
      proc_exit(code) { throw new Fault(`proc_exit(${code})`); },
      sched_yield: () => OK,
    };
  }

  function unlock(den, page) {
    try { backend.unlockPage(den, page); } catch (err) { say(2, `raidakx: unlockPage(${den}, ${page}) failed: ${err?.message ?? err}`); }
  }
  function release() {
    if (lock) unlock(lock.den, lock.page);
    lock = null;
  }

  // run answers req on the current instance (section 3), throwing when the
  // instance must be discarded.
  function run(req) {
    inst ??= instantiate((m, imports) => new WebAssembly.Instance(m, imports));
    new Uint8Array(inst.memory.buffer).set(req, inst.reqPtr);
    deadline = requestTimeoutMs > 0 ? performance.now() + requestTimeoutMs : Infinity;
    let n;
    try {
      n = inst.ex.raidakx_handle(req.length) >>> 0;
    } finally {
      deadline = Infinity;
    }
    if (lock) throw new Fault('returned holding a page lock');
    if ((n > 0 && n < HEADER) || n > RESPONSE_CAP) throw new Fault(`returned a ${n}-byte response`);
    return new Uint8Array(inst.memory.buffer, inst.respPtr, n).slice();
  }

  inst = await instantiate((m, imports) => WebAssembly.instantiate(m, imports));

  return {
    // handle answers one request; an empty answer means none is sent
    // (abi/ABI.md section 3). It throws only when misused: after close,
    // or called again from inside a backend method.
    handle(request) {
      const req = admitRequest(request, closed, busy);
      busy = true;
      stats.requests++;
      try {
        let resp;
        try {
          resp = run(req);
        } catch (err) {
          stats.faults++;
          say(1, `raidakx: instance failed; replacing it: ${err?.message ?? err}`);
          release();
          inst = null; // the next request makes a new one
          resp = internalError(req, raidaId);
        }
        if (wrote) {
          wrote = false;
          try {
            backend.commit();
          } catch (err) {
            say(2, `raidakx: commit failed; answering 252: ${err?.message ?? err}`);
            resp = internalError(req, raidaId);
          }
        }
        return resp;
      } finally {
        busy = false;
      }
    },
    // close drops the instance; the backend stays the caller's.
    close() { closed = true; inst = null; },
    // stats counts requests, faults (instances discarded) and instances made.
    stats: () => ({ ...stats }),
  };
}
