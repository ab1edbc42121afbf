// replay.mjs: replays raidakx test vectors against keyexchange.wasm from
// Node.js, using only Node built-ins. It is written from abi/ABI.md alone and
// is the example for embedding the module in a language other than Go.
//
//   node testvectors/node/replay.mjs [-v] [-wasm PATH] FILE_OR_DIR...
//
// PATH defaults to build/keyexchange.wasm. A folder means its *.json files
// (not recursive) in name order. Prints "FAIL name: reason" per failing
// vector, then "N passed, M failed"; exits 1 on any failure, 2 on usage
// errors. -v also prints "ok name" per passing vector, and the module's log
// and any faults to stderr. Node 20 warns on stderr that WASI is
// experimental; --disable-warning=ExperimentalWarning silences it.
//
// How it maps to ABI.md:
//   section 2  instantiate(): WASI preview 1 with no args, env or preopens;
//              _initialize via wasi.initialize; abi_version must be 2;
//              raidakx_configure; the two buffer pointers.
//   section 3  serve(): copy the request (cut to RequestCap) in, call
//              raidakx_handle, copy the response out.
//   section 4  hostImports(): the "raidakx" imports over an in-memory state
//              built from the vector. A misuse throws Fault, which aborts
//              the wasm call (a trap); conditions the module handles return
//              the negative errno.
//   section 5  checkModule(): import/export names and kinds. The JS API does
//              not give import signatures; exports are checked by arity.
//   section 6  internalError(): the 252 answer after a trap, or when
//              raidakx_handle returns holding a page lock.
// The vector format and comparison rules are those of testvectors/replay.

import { WASI } from 'node:wasi';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const ABI_VERSION = 2;
const REQUEST_CAP = 32 + 65535, RESPONSE_CAP = 4096, HEADER = 32;
const MAX_FILE = 4096, LOG_MAX = 1024, MAX_CRYPTO = 65536, SHA256_SIZE = 32;
const MIN_DEN = -8, MAX_DEN = 6, SN_LIMIT = 1024000, PAGE = 1024, PAGES = 1000;
const RECORD = 17; // AN 16 bytes, MFS 1 byte
const OK = 0, ErrNotFound = -1, ErrNoRecord = -3, ErrNoRandom = -4,
  ErrTooLarge = -5, ErrBadName = -6, ErrDenied = -7;
const DIRS = ['coins/', 'Keys/']; // dir 0 and dir 1
const NAME = /^[0-9A-Za-z_-][0-9A-Za-z._-]{0,254}$/;

// Section 4 imports and section 3 exports, with their parameter counts.
const IMPORTS = ['random', 'page_lock', 'page_unlock', 'record_read', 'record_write',
  'file_read', 'file_write', 'time_now', 'log', 'aes_ctr', 'sha256', 'hmac_sha256'];
const EXPORTS = { _initialize: 0, raidakx_abi_version: 0, raidakx_configure: 2,
  raidakx_request_buffer: 0, raidakx_response_buffer: 0, raidakx_handle: 1 };

class Fault extends Error {} // thrown from an import: the wasm call traps

let verbose = false;

// ---- section 5: checks before running -------------------------------------

function checkModule(mod) {
  const problems = [];
  for (const { module, name, kind } of WebAssembly.Module.imports(mod)) {
    if (module === 'raidakx') {
      if (!IMPORTS.includes(name)) problems.push(`imports raidakx.${name}, which the ABI does not define`);
      else if (kind !== 'function') problems.push(`imports raidakx.${name} as a ${kind}, want a function`);
    } else if (module !== 'wasi_snapshot_preview1') {
      problems.push(`imports ${module}.${name} from a module this host does not provide`);
    }
  }
  const exports = new Map(WebAssembly.Module.exports(mod).map((e) => [e.name, e.kind]));
  for (const name of Object.keys(EXPORTS)) {
    if (exports.get(name) !== 'function') problems.push(`does not export function ${name}`);
  }
  if (exports.get('memory') !== 'memory') problems.push('does not export memory');
  return problems;
}

// checkInstance checks what only an initialized instance shows.
function checkInstance(ex) {
  const problems = Object.entries(EXPORTS).filter(([name, arity]) => ex[name].length !== arity)
    .map(([name, arity]) => `exports ${name} with ${ex[name].length} parameters, want ${arity}`);
  const version = problems.length ? ABI_VERSION : ex.raidakx_abi_version();
  if (version !== ABI_VERSION) problems.push(`raidakx_abi_version() = ${version}, want ${ABI_VERSION}`);
  return problems;
}

// ---- section 4: the imports ------------------------------------------------

// st: { records: Map "den/sn" -> 17 bytes, files: Map "Keys/NAME" -> bytes,
//       random, randomPos, exhausted, lock: {den, page} | null, time }
function hostImports(st, memory) {
  // view returns memory [ptr, ptr+len), trapping when it is not all inside.
  const view = (ptr, len) => {
    ptr >>>= 0; len >>>= 0;
    const mem = new Uint8Array(memory().buffer); // fresh: memory may have grown
    if (ptr + len > mem.length) throw new Fault(`[${ptr}, ${ptr + len}) is outside memory (${mem.length} bytes)`);
    return mem.subarray(ptr, ptr + len);
  };
  // cryptoLen traps on more bytes than one crypto import may process.
  const cryptoLen = (what, len) => {
    if (len >>> 0 > MAX_CRYPTO) throw new Fault(`${what} of ${len >>> 0} bytes, more than ${MAX_CRYPTO}`);
  };
  const hasRecord = (den, sn) => den >= MIN_DEN && den <= MAX_DEN && sn < SN_LIMIT;
  const needLock = (den, sn) => {
    const { lock } = st;
    if (!lock || lock.den !== den || lock.page !== Math.floor(sn / PAGE)) {
      throw new Fault(`record (${den}, ${sn}) used without the lock of page ${Math.floor(sn / PAGE)}`);
    }
  };
  // fileKey returns "coins/NAME" or "Keys/NAME", or null for a bad name.
  const fileKey = (dir, ptr, len) => {
    if (dir !== 0 && dir !== 1) throw new Fault(`unknown dir ${dir}`);
    const name = Buffer.from(view(ptr, len)).toString('latin1'); // one char per byte
    return NAME.test(name) ? DIRS[dir] + name : null;
  };
  return {
    random(ptr, len) {
      const dst = view(ptr, len);
      if (dst.length > st.random.length - st.randomPos) { st.exhausted = true; return ErrNoRandom; }
      dst.set(st.random.subarray(st.randomPos, st.randomPos += dst.length));
      return OK;
    },
    page_lock(den, page) {
      if (st.lock) throw new Fault(`page_lock(${den}, ${page >>> 0}) while holding page ${st.lock.page} of den ${st.lock.den}`);
      if (den < MIN_DEN || den > MAX_DEN || page >>> 0 >= PAGES) return ErrNoRecord;
      st.lock = { den, page: page >>> 0 }; // one instance per state: never waits
      return OK;
    },
    page_unlock(den, page) {
      if (!st.lock || st.lock.den !== den || st.lock.page !== page >>> 0) throw new Fault(`page_unlock(${den}, ${page >>> 0}) of a page not held`);
      st.lock = null;
      return OK;
    },
    record_read(den, sn, ptr) {
      const dst = view(ptr, RECORD);
      sn >>>= 0;
      // Holding no lock, the read locks the record's page itself (ABI v2):
      // one instance per state, so it never waits.
      if (st.lock) needLock(den, sn); // so a record out of range traps
      if (!hasRecord(den, sn)) return ErrNoRecord;
      dst.set(st.records.get(`${den}/${sn}`) ?? new Uint8Array(RECORD));
      return OK;
    },
    record_write(den, sn, ptr) {
      const src = view(ptr, RECORD);
      sn >>>= 0;
      needLock(den, sn);
      if (!hasRecord(den, sn)) return ErrNoRecord;
      st.records.set(`${den}/${sn}`, src.slice());
      return OK;
    },
    file_read(dir, namePtr, nameLen, bufPtr, bufLen) {
      const key = fileKey(dir, namePtr, nameLen);
      const dst = view(bufPtr, bufLen);
      if (key === null) return ErrBadName;
      const data = st.files.get(key);
      if (data === undefined) return ErrNotFound;
      const n = Math.min(data.length, dst.length);
      dst.set(data.subarray(0, n));
      return n;
    },
    file_write(dir, namePtr, nameLen, dataPtr, dataLen) {
      const key = fileKey(dir, namePtr, nameLen);
      const src = view(dataPtr, dataLen);
      if (dir === 0) return ErrDenied; // coins/ is read only
      if (key === null) return ErrBadName;
      if (src.length > MAX_FILE) return ErrTooLarge;
      st.files.set(key, src.slice()); // whole and atomic: a map entry
      return OK;
    },
    time_now: () => st.time,
    log(level, ptr, len) {
      const msg = view(ptr, len).subarray(0, LOG_MAX);
      level = Math.max(-1, Math.min(2, level));
      if (verbose) console.error(`  module ${['debug', 'info', 'warn', 'error'][level + 1]}: ${Buffer.from(msg).toString('utf8')}`);
    },
    aes_ctr(keyPtr, keyLen, ivPtr, bufPtr, bufLen) {
      const key = view(keyPtr, keyLen), iv = view(ivPtr, 16), buf = view(bufPtr, bufLen);
      if (key.length !== 16 && key.length !== 32) throw new Fault(`aes_ctr with a ${key.length}-byte key, want 16 or 32`);
      cryptoLen('aes_ctr', bufLen);
      // OpenSSL's CTR increments the whole 16-byte counter block, as ABI.md says.
      const c = crypto.createCipheriv(key.length === 16 ? 'aes-128-ctr' : 'aes-256-ctr', key, iv);
      buf.set(c.update(buf));
    },
    sha256(dataPtr, dataLen, outPtr) {
      const data = view(dataPtr, dataLen), out = view(outPtr, SHA256_SIZE);
      cryptoLen('sha256', dataLen);
      out.set(crypto.createHash('sha256').update(data).digest());
    },
    hmac_sha256(keyPtr, keyLen, dataPtr, dataLen, outPtr) {
      const key = view(keyPtr, keyLen), data = view(dataPtr, dataLen), out = view(outPtr, SHA256_SIZE);
      cryptoLen('hmac_sha256', keyLen);
      cryptoLen('hmac_sha256', dataLen);
      out.set(crypto.createHmac('sha256', key).update(data).digest());
    },
  };
}

// ---- sections 2, 3 and 6: one request on a fresh instance ------------------

async function instantiate(mod, st) {
  const wasi = new WASI({ version: 'preview1', args: [], env: {}, preopens: {} });
  let memory = null;
  const instance = await WebAssembly.instantiate(mod, {
    wasi_snapshot_preview1: wasi.wasiImport,
    raidakx: hostImports(st, () => memory),
  });
  memory = instance.exports.memory;
  wasi.initialize(instance); // calls _initialize
  return instance.exports;
}

// internalError is the 252 answer of section 6 for request req: none for a
// packet shorter than 32 bytes, which never gets one (PROTOCOL.md step 1).
function internalError(req, raidaId) {
  const long = req.length >= 17 && (req[16] === 4 || req[16] === 5);
  if (req.length < (long ? 17 : HEADER)) return new Uint8Array(0);
  const resp = new Uint8Array(long ? 48 : HEADER);
  const headerOK = req[0] === 1 && req[1] === 0 && req[2] === raidaId && req[4] <= 15;
  resp[0] = raidaId;
  resp[2] = 252;
  resp[3] = headerOK ? req[4] : 0;
  if (long) { // the 48-byte form of PROTOCOL.md section 6.6
    resp[16] = req[16];
    if (req.length >= 48) resp.set(req.subarray(46, 48), 46);
    return resp;
  }
  resp[5] = 1;
  resp[6] = req[30];
  resp[7] = req[31];
  return resp;
}

function serve(ex, memory, st, req, raidaId) {
  req = req.subarray(0, REQUEST_CAP);
  try {
    const reqPtr = ex.raidakx_request_buffer() >>> 0, respPtr = ex.raidakx_response_buffer() >>> 0;
    new Uint8Array(memory.buffer).set(req, reqPtr);
    const n = ex.raidakx_handle(req.length) >>> 0;
    if (st.lock) throw new Fault(`raidakx_handle returned holding page ${st.lock.page} of den ${st.lock.den}`);
    if (n !== 0 && (n < HEADER || n > RESPONSE_CAP)) throw new Fault(`raidakx_handle returned length ${n}`);
    return new Uint8Array(memory.buffer, respPtr, n).slice();
  } catch (err) {
    if (verbose) console.error(`  fault: ${err.message}`);
    st.lock = null; // release the page lock; the instance is discarded
    return internalError(req, raidaId);
  }
}

// ---- vectors: loading, running, comparing ----------------------------------

function hex(field, s) {
  if (typeof s !== 'string' || !/^([0-9a-fA-F]{2})*$/.test(s)) throw new Error(`${field}: not hex`);
  return new Uint8Array(Buffer.from(s, 'hex'));
}
const toHex = (b) => Buffer.from(b).toString('hex');

function recordMap(list = [], where) {
  const out = new Map();
  for (const r of list) {
    const an = hex(`${where}: an`, r.an);
    const ok = an.length === 16 && Number.isInteger(r.den) && r.den >= MIN_DEN && r.den <= MAX_DEN &&
      Number.isInteger(r.sn) && r.sn >= 0 && r.sn < SN_LIMIT && Number.isInteger(r.mfs) && r.mfs >= 0 && r.mfs <= 255;
    if (!ok) throw new Error(`${where}: invalid record ${JSON.stringify(r)}`);
    out.set(`${r.den}/${r.sn}`, Uint8Array.of(...an, r.mfs));
  }
  return out;
}

function fileMap(files = {}, where) {
  return new Map(Object.entries(files).map(([name, h]) => [name, hex(`${where}: ${name}`, h)]));
}

const FIELDS = [[2, 3, 'status'], [3, 4, 'group'], [6, 8, 'echo'], [9, 12, 'body length'], [16, 32, 'challenge answer']];
function fieldName(i) {
  if (i >= HEADER) return `payload or trailer byte ${i - HEADER}`;
  return FIELDS.find(([from, to]) => i >= from && i < to)?.[2] ?? 'header';
}

function compareResponse(req, got, want) {
  // Execution time, never compared: bytes 12-15, or 4-7 in the 48-byte
  // answers of types 4 and 5 (PROTOCOL.md section 6.6).
  const micros = req.length >= 17 && (req[16] === 4 || req[16] === 5) ? 4 : 12;
  for (let i = 0; i < Math.min(got.length, want.length); i++) {
    if (i >= micros && i < micros + 4) continue;
    if (got[i] !== want[i]) {
      return `response byte ${i} (${fieldName(i)}): got ${toHex([got[i]])}, want ${toHex([want[i]])}\n  got  ${toHex(got)}\n  want ${toHex(want)}`;
    }
  }
  if (got.length !== want.length) return `response length: got ${got.length}, want ${want.length}\n  got  ${toHex(got)}\n  want ${toHex(want)}`;
  return null;
}

// compareState reports every entry that differs from want, and every entry
// not in want that differs from before. missing gives the value of an absent
// entry (records: all zero), or null when absence is itself a value (files).
function compareState(kind, before, after, want, missing, show, label = (k) => k) {
  const problems = [];
  const same = (a, b) => a != null && b != null && a.length === b.length && a.every((x, i) => x === b[i]);
  for (const key of [...new Set([...after.keys(), ...want.keys()])].sort()) {
    const got = after.get(key) ?? missing, old = before.get(key) ?? missing, w = want.get(key);
    const name = `${kind} ${label(key)}`;
    if (w !== undefined && got === null) problems.push(`${name}: missing, want ${show(w)}`);
    else if (w !== undefined && !same(got, w)) problems.push(`${name}: got ${show(got)}, want ${show(w)}`);
    else if (w === undefined && !same(got, old)) problems.push(`${name} changed to ${show(got)}; the vector expects no change`);
  }
  return problems;
}
const showRecord = (r) => `an ${toHex(r.subarray(0, 16))} mfs ${r[16]}`;
const recordLabel = (key) => `(${key.replace('/', ', ')})`; // "den/sn" -> "(den, sn)"

async function runVector(mod, v) {
  const req = hex('request_hex', v.request_hex), want = hex('response_hex', v.response_hex);
  const before = { records: recordMap(v.state?.records, 'state'), files: fileMap(v.state?.files, 'state') };
  const expect = { records: recordMap(v.expect?.records, 'expect'), files: fileMap(v.expect?.files, 'expect') };
  const { raida_id: raidaId, coin_id: coinId } = v.config ?? {};
  if (!(raidaId >= 0 && raidaId <= 24 && coinId >= 0 && coinId <= 0xffff)) throw new Error(`config out of range: ${JSON.stringify(v.config)}`);
  const st = {
    records: new Map(before.records), files: new Map(before.files),
    random: hex('random_hex', v.random_hex), randomPos: 0, exhausted: false,
    lock: null, time: BigInt(v.time_unix) * 1000000000n,
  };
  const ex = await instantiate(mod, st);
  if (ex.raidakx_abi_version() !== ABI_VERSION) return ['raidakx_abi_version changed'];
  const rc = ex.raidakx_configure(raidaId, coinId);
  if (rc !== 0) return [`raidakx_configure(${raidaId}, ${coinId}) = ${rc}`];
  const got = serve(ex, ex.memory, st, req, raidaId);
  const problems = [];
  if (st.exhausted) problems.push(`ran out of random bytes (the vector gives ${st.random.length})`);
  const p = compareResponse(req, got, want);
  if (p) problems.push(p);
  problems.push(...compareState('record', before.records, st.records, expect.records, new Uint8Array(RECORD), showRecord, recordLabel));
  problems.push(...compareState('file', before.files, st.files, expect.files, null, toHex));
  return problems;
}

function vectorFiles(paths) {
  return paths.flatMap((p) => fs.statSync(p).isDirectory()
    ? fs.readdirSync(p).filter((f) => f.endsWith('.json')).sort().map((f) => path.join(p, f))
    : [p]);
}

async function main(argv) {
  let wasmPath = 'build/keyexchange.wasm';
  const paths = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '-v') verbose = true;
    else if (argv[i] === '-wasm') {
      if (++i === argv.length) return usage('-wasm needs a path');
      wasmPath = argv[i];
    } else if (argv[i].startsWith('-')) return usage(`unknown flag ${argv[i]}`);
    else paths.push(argv[i]);
  }
  if (paths.length === 0) return usage('no vector files');
  const vectors = vectorFiles(paths).flatMap((file) => {
    try {
      return JSON.parse(fs.readFileSync(file, 'utf8')).vectors ?? [];
    } catch (err) {
      throw new Error(`${file}: ${err.message}`);
    }
  });

  const mod = await WebAssembly.compile(fs.readFileSync(wasmPath));
  let problems = checkModule(mod);
  if (!problems.length) problems = checkInstance(await instantiate(mod, { lock: null }));
  if (problems.length) throw new Error(`module does not implement raidakx ABI v${ABI_VERSION}:\n  ${problems.join('\n  ')}`);

  let passed = 0, failed = 0;
  for (const v of vectors) {
    let result;
    try {
      result = await runVector(mod, v);
    } catch (err) {
      result = [err.message];
    }
    if (result.length === 0) {
      passed++;
      if (verbose) console.log(`ok   ${v.name}`);
    } else {
      failed++;
      console.log(`FAIL ${v.name}: ${result.join('\n').replaceAll('\n', '\n    ')}`);
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

function usage(msg) {
  console.error(`${msg}\nusage: node replay.mjs [-v] [-wasm PATH] FILE_OR_DIR...`);
  return 2;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err) => {
  console.error(`replay: ${err.message}`);
  process.exitCode = 1;
});
