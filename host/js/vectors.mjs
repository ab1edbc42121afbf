// vectors.mjs: runs the test vectors of testvectors/ (format and rules in
// testvectors/README.md) through the kit, on a MemoryBackend holding the
// vector's state, random bytes and time, and compares the answer and the
// state after it. testvectors/node/replay.mjs and the tests use it.

import fs from 'node:fs';
import path from 'node:path';
import { load, MemoryBackend } from './raidakx.mjs';

const RECORD = 17, HEADER = 32, MIN_DEN = -8, MAX_DEN = 6, SN_LIMIT = 1024000;

// readVectors returns the vectors of each file, or of each folder's *.json
// files (not recursive) in name order.
export function readVectors(paths) {
  const files = paths.flatMap((p) => fs.statSync(p).isDirectory()
    ? fs.readdirSync(p).filter((f) => f.endsWith('.json')).sort().map((f) => path.join(p, f))
    : [p]);
  return files.flatMap((file) => {
    try {
      return JSON.parse(fs.readFileSync(file, 'utf8')).vectors ?? [];
    } catch (err) {
      throw new Error(`${file}: ${err.message}`);
    }
  });
}

export function hex(field, s) {
  if (typeof s !== 'string' || !/^([0-9a-fA-F]{2})*$/.test(s)) throw new Error(`${field}: not hex`);
  return new Uint8Array(Buffer.from(s, 'hex'));
}
const toHex = (b) => Buffer.from(b).toString('hex');

// recordMap returns a vector's record list as MemoryBackend's records.
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

// vectorState returns what a vector holds before and expects after its
// request, as MemoryBackend maps.
export function vectorState(v) {
  return {
    before: { records: recordMap(v.state?.records, 'state'), files: fileMap(v.state?.files, 'state') },
    expect: { records: recordMap(v.expect?.records, 'expect'), files: fileMap(v.expect?.files, 'expect') },
  };
}

const FIELDS = [[2, 3, 'status'], [3, 4, 'group'], [6, 8, 'echo'], [9, 12, 'body length'], [16, 32, 'challenge answer']];
function fieldName(i) {
  if (i >= HEADER) return `payload or trailer byte ${i - HEADER}`;
  return FIELDS.find(([from, to]) => i >= from && i < to)?.[2] ?? 'header';
}

// compareResponse reports the first byte of got that differs from want.
export function compareResponse(req, got, want) {
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
export function compareState(kind, before, after, want, missing, show, label = (k) => k) {
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

// vectorRandom returns a random function giving the vector's bytes in
// order, and a function telling whether a request asked for more.
export function vectorRandom(bytes) {
  let pos = 0, exhausted = false;
  const random = (buf) => {
    if (buf.length > bytes.length - pos) { exhausted = true; throw new Error('out of vector random bytes'); }
    buf.set(bytes.subarray(pos, pos += buf.length));
  };
  return { random, exhausted: () => exhausted };
}

// runVector answers vector v with module (what compile returned) and
// returns its problems, none when it passes. log gets every log message;
// open makes the kit (worker.test.mjs passes loadIsolated's).
export async function runVector(module, v, log = () => {}, open = (backend, options) => load(module, backend, options)) {
  const req = hex('request_hex', v.request_hex), want = hex('response_hex', v.response_hex);
  const { before, expect } = vectorState(v);
  const { raida_id: raidaId, coin_id: coinId } = v.config ?? {};
  const rnd = vectorRandom(hex('random_hex', v.random_hex));
  const time = BigInt(v.time_unix) * 1000000000n;
  const backend = new MemoryBackend({ records: before.records, files: before.files, random: rnd.random, now: () => time, log });
  const kit = await open(backend, { raidaId, coinId });
  const got = kit.handle(req);
  kit.close();
  const problems = [];
  if (rnd.exhausted()) problems.push(`ran out of random bytes (the vector gives ${v.random_hex.length / 2})`);
  const p = compareResponse(req, got, want);
  if (p) problems.push(p);
  problems.push(...compareState('record', before.records, backend.records, expect.records, new Uint8Array(RECORD), showRecord, recordLabel));
  problems.push(...compareState('file', before.files, backend.files, expect.files, null, toHex));
  return problems;
}
