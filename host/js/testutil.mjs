// testutil.mjs: what the tests (*.test.mjs) share: where the modules are,
// the faulty module's requests, and data roots written and read back
// without the kit.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryBackend } from './raidakx.mjs';

const repo = (p) => fileURLToPath(new URL(`../../${p}`, import.meta.url));

// The modules, as make builds them (make build.wasm build.faulty), unless
// RAIDAKX_WASM / RAIDAKX_FAULTY_WASM name others.
export const WASM = process.env.RAIDAKX_WASM || repo('build/keyexchange.wasm');
export const FAULTY_WASM = process.env.RAIDAKX_FAULTY_WASM || repo('build/faulty.wasm');
export const VECTORS = repo('testvectors');

export function readModule(file) {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new Error(`${err.message}: run make build.wasm build.faulty, or set RAIDAKX_WASM / RAIDAKX_FAULTY_WASM`);
  }
}

export const unhex = (s) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
export const toHex = (b) => Buffer.from(b).toString('hex');

// faultyRequest is wasmtest.FaultyDenRequest: a request for the faulty
// module (host/engine/testdata/faulty) choosing behaviour, with echo bytes
// echo and, when given, d as body bytes 0-3 (FaultyRequest without).
export function faultyRequest(raidaId, coinId, behaviour, echo, d) {
  const req = new Uint8Array(32 + 18);
  const v = new DataView(req.buffer);
  req.set([1, 0, raidaId, 0, 0, behaviour]); // router, split, raida, shard, group 0, command
  v.setUint16(6, coinId);
  v.setUint16(22, 18); // body length: 16 challenge bytes and the trailer
  v.setUint16(30, echo);
  for (let i = 0; i < 16; i++) req[32 + i] = 0x10 + i;
  if (d !== undefined) v.setInt32(32, d);
  req.set([0x3e, 0x3e], 48);
  return req;
}

// pageFile is where the node keeps record (den, sn), written out from
// RAIDA-FACTS.md rather than taken from file.mjs: Data/{den:02x}/
// {page>>8:02x}/{page:04x}.bin, den as an unsigned byte, page sn / 1024.
export function pageFile(root, den, sn) {
  const page = Math.floor(sn / 1024), h = (n, w) => n.toString(16).padStart(w, '0');
  return path.join(root, 'Data', h(den & 0xff, 2), h(page >> 8, 2), `${h(page, 4)}.bin`);
}

// makeRoot writes a data root holding state (vectorState's maps) the way
// the node does, without the kit: page files of 17,408 bytes, coins/, Keys/.
export function makeRoot(state) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'raidakx-js-'));
  for (const dir of ['coins', 'Keys', 'Data']) fs.mkdirSync(path.join(root, dir));
  for (const [key, rec] of state.records) {
    const [den, sn] = key.split('/').map(Number), file = pageFile(root, den, sn);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const page = fs.existsSync(file) ? fs.readFileSync(file) : Buffer.alloc(17408);
    page.set(rec, (sn % 1024) * 17);
    fs.writeFileSync(file, page);
  }
  for (const [name, data] of state.files) fs.writeFileSync(path.join(root, name), data);
  return root;
}

// diskState reads back from root every record of every page file (the
// absent ones are zero) and every file.
export function diskState(root) {
  const records = new Map(), files = new Map();
  const data = path.join(root, 'Data');
  for (const name of fs.readdirSync(data, { recursive: true })) {
    const m = /^([0-9a-f]{2})\/[0-9a-f]{2}\/([0-9a-f]{4})\.bin$/.exec(name.split(path.sep).join('/'));
    if (!m) continue;
    const den = (parseInt(m[1], 16) << 24) >> 24, page = parseInt(m[2], 16), bytes = fs.readFileSync(path.join(data, name));
    assert.equal(bytes.length, 17408, name);
    for (let i = 0; i < 1024; i++) records.set(`${den}/${page * 1024 + i}`, new Uint8Array(bytes.subarray(i * 17, i * 17 + 17)));
  }
  for (const dir of ['coins', 'Keys']) {
    for (const name of fs.readdirSync(path.join(root, dir))) files.set(`${dir}/${name}`, new Uint8Array(fs.readFileSync(path.join(root, dir, name))));
  }
  return { records, files };
}

// spyBackend is a MemoryBackend that counts the page locks it holds and
// records calls in order.
export function spyBackend(overrides = {}) {
  const b = new MemoryBackend({ log: (level, msg) => b.calls.push(`log ${msg}`) });
  b.calls = [];
  b.held = 0;
  b.lockPage = (den, page) => { b.held++; b.calls.push(`lock ${den} ${page}`); };
  b.unlockPage = (den, page) => { b.held--; b.calls.push(`unlock ${den} ${page}`); };
  b.commit = () => b.calls.push('commit');
  return Object.assign(b, overrides);
}

// internal252 is the 252 answer of ABI.md section 6 to a faultyRequest of
// node raidaId: 0, status 252, group 0 (the header is valid), frames 00 01,
// the echo bytes, all else zero.
export function internal252(raidaId, echo) {
  return unhex(`${raidaId.toString(16).padStart(2, '0')} 00 fc 00 0001 ${echo.toString(16).padStart(4, '0')}` + '00'.repeat(24));
}

// echoAnswer is node raidaId's healthy answer to faultyRequest(behaviour
// 0) from the faulty module: status 250 and the body's first 16 bytes.
export function echoAnswer(raidaId, req) {
  const want = new Uint8Array(32);
  want.set([raidaId, 0, 250, 0, 0, 1, req[30], req[31]]);
  want.set(req.subarray(32, 48), 16);
  return want;
}
