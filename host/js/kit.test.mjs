// The kit itself: the checks before running (abi/ABI.md section 5), its
// argument checks, storage errors as errnos, and that it runs with no
// Node.js module at all (no node:wasi; node:crypto only when not given a
// crypto provider).

import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compile, load, MemoryBackend } from './raidakx.mjs';
import { readVectors, vectorState, vectorRandom, hex, compareResponse } from './vectors.mjs';
import { WASM, VECTORS, readModule } from './testutil.mjs';

const module = await compile(readModule(WASM));
const vector = (name) => readVectors([VECTORS]).find((v) => v.name === name);

// wasm builds a module's bytes: imports [module, name, params, results]
// (a results of 'memory' imports a memory), funcs [export name, params,
// results, body bytes], and a 2-page memory exported as "memory" when
// memory is true. Value types are 'i32' and 'i64'.
function wasm({ imports = [], funcs = [], memory = true }) {
  const leb = (n) => { const out = []; do { out.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0)); n >>>= 7; } while (n); return out; };
  const str = (s) => [...leb(s.length), ...new TextEncoder().encode(s)];
  const vec = (items) => [...leb(items.length), ...items.flat()];
  const section = (id, items) => [id, ...leb(vec(items).length), ...vec(items)];
  const VT = { i32: 0x7f, i64: 0x7e };
  const fimports = imports.filter((i) => i[3] !== 'memory');
  const types = [...fimports, ...funcs.map(([n, p, r]) => [null, n, p, r])].map(([, , p, r]) => [0x60, ...vec(p.map((t) => VT[t])), ...vec(r.map((t) => VT[t]))]);
  let fi = 0;
  const importEntries = imports.map(([m, n, , r]) => [...str(m), ...str(n), ...(r === 'memory' ? [2, 0, 1] : [0, ...leb(fi++)])]);
  const body = (code) => { const b = [0, ...code, 0x0b]; return [...leb(b.length), ...b]; };
  return new Uint8Array([
    0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, types),
    ...section(2, importEntries),
    ...section(3, funcs.map((_, i) => leb(fimports.length + i))),
    ...(memory ? section(5, [[0, 2]]) : []),
    ...section(7, [...funcs.map(([n], i) => [...str(n), 0, ...leb(fimports.length + i)]), ...(memory ? [[...str('memory'), 2, 0]] : [])]),
    ...section(10, funcs.map(([, , , code]) => body(code))),
  ]);
}

const i32 = (n) => [0x41, n & 0x7f]; // i32.const of a small number

test('compile: names every way a module fails the ABI, as the Go host does', async () => {
  const bad = wasm({
    memory: false,
    imports: [
      ['env', 'mem', [], 'memory'],
      ['raidakx', 'random', ['i32'], ['i32']],
      ['raidakx', 'bogus', [], []],
      ['env', 'x', [], []],
      ['wasi_snapshot_preview1', 'fd_read', ['i32', 'i32', 'i32', 'i32'], ['i32']],
    ],
    funcs: [['raidakx_handle', [], ['i32'], i32(0)]],
  });
  await assert.rejects(compile(bad), { message: `module does not implement raidakx ABI v2:
  imports env.mem, which is not a function
  imports raidakx.random as (i32) -> (i32), want (i32, i32) -> (i32)
  imports raidakx.bogus, which the ABI does not define
  imports env.x from a module this host does not provide
  imports wasi_snapshot_preview1.fd_read, which this host does not provide
  does not export function _initialize
  does not export function raidakx_abi_version
  does not export function raidakx_configure
  exports raidakx_handle as () -> (i32), want (i32) -> (i32)
  does not export function raidakx_request_buffer
  does not export function raidakx_response_buffer
  does not export memory` });
});

// minimal returns a module with every export and no import whose
// raidakx_abi_version returns version and whose handle answers nothing.
const minimal = (version) => wasm({
  funcs: [
    ['_initialize', [], [], []],
    ['raidakx_abi_version', [], ['i32'], i32(version)],
    ['raidakx_configure', ['i32', 'i32'], ['i32'], i32(0)],
    ['raidakx_request_buffer', [], ['i32'], i32(0)],
    ['raidakx_response_buffer', [], ['i32'], i32(0)],
    ['raidakx_handle', ['i32'], ['i32'], i32(0)],
  ],
});

test('load: refuses another ABI version', async () => {
  await assert.rejects(load(minimal(3), new MemoryBackend(), { raidaId: 0, coinId: 6 }),
    { message: 'raidakx: ABI version mismatch: module has v3, host has v2' });
  const kit = await load(minimal(2), new MemoryBackend(), { raidaId: 0, coinId: 6 });
  assert.equal(kit.handle(new Uint8Array(32)).length, 0, 'the minimal module answers nothing');
});

test('load: says what is wrong with its arguments', async () => {
  const cases = [
    [new MemoryBackend(), { raidaId: 25, coinId: 6 }, /raidaId 25: want an integer 0\.\.24/],
    [new MemoryBackend(), { raidaId: 0, coinId: 65536 }, /coinId 65536: want an integer 0\.\.65535/],
    [new MemoryBackend(), { raidaId: 0, coinId: 6, requestTimeoutMs: -1 }, /requestTimeoutMs -1/],
    [{ random() {}, now() {} }, { raidaId: 0, coinId: 6 }, /the backend has no method lockPage, unlockPage, readRecord, writeRecord, commit, readFile, writeFile$/],
  ];
  for (const [backend, opts, want] of cases) await assert.rejects(load(module, backend, opts), want);
  const unchecked = await WebAssembly.compile(readModule(WASM));
  await assert.rejects(load(unchecked, new MemoryBackend(), { raidaId: 0, coinId: 6 }), /bytes or what compile\(\) returned/);
});

test('handle: refuses misuse', async () => {
  const v = vector('k44/23-type1'), rnd = vectorRandom(hex('random_hex', v.random_hex));
  let kit, inner;
  const { before } = vectorState(v);
  const backend = new MemoryBackend({ ...before, now: () => BigInt(v.time_unix) * 1000000000n });
  backend.random = (buf) => {
    try { kit.handle(new Uint8Array(32)); } catch (err) { inner = err; }
    rnd.random(buf);
  };
  kit = await load(module, backend, { raidaId: v.config.raida_id, coinId: v.config.coin_id });
  assert.equal(kit.handle(hex('request_hex', v.request_hex))[2], 0, 'the outer request is answered');
  assert.match(inner?.message, /handle called while a request runs/);
  assert.throws(() => kit.handle('not bytes'), TypeError);
  kit.close();
  assert.throws(() => kit.handle(new Uint8Array(32)), /handle after close/);
});

test('storage errors reach the module as ErrIO, or ErrNoSpace for ENOSPC', async () => {
  const v = vector('k41/type0'); // 41 writes a Keys/ file; the module logs why it failed
  for (const [err, want] of [[new Error('broken disk'), 'i/o error'], [Object.assign(new Error('disk full'), { code: 'ENOSPC' }), 'no space left']]) {
    const logs = [];
    const backend = new MemoryBackend({ random: vectorRandom(hex('random_hex', v.random_hex)).random, now: () => 0n, log: (l, m) => logs.push(m) });
    backend.writeFile = () => { throw err; };
    const kit = await load(module, backend, { raidaId: v.config.raida_id, coinId: v.config.coin_id });
    assert.notEqual(kit.handle(hex('request_hex', v.request_hex))[2], 250);
    assert.ok(logs.includes(`raidakx: file_write failed: ${err.message}`), logs.join('\n'));
    assert.ok(logs.includes(`module: post key: ${want}`), logs.join('\n'));
  }
});

test('runs with no Node.js module: node:wasi blocked everywhere, node:* blocked for the kit', async () => {
  const dir = path.dirname(fileURLToPath(import.meta.url));
  for (const file of ['raidakx.mjs', 'memory.mjs']) {
    const src = fs.readFileSync(path.join(dir, file), 'utf8');
    assert.doesNotMatch(src, /['"](node:)?wasi['"]/, `${file} names the wasi module`);
    const code = src.split('\n').filter((l) => !/^\s*\/\//.test(l)).join('\n'); // without comment lines
    const specifiers = [...code.matchAll(/\bfrom\s+'([^']+)'|\bimport\(\s*'([^']+)'/g)].map((m) => m[1] ?? m[2]);
    assert.deepEqual(specifiers.filter((s) => s !== './memory.mjs'), file === 'raidakx.mjs' ? ['node:crypto'] : []);
  }
  // A child process whose resolve hook throws for node:wasi and for any
  // node: module the kit's own files ask for. It checks the hook works,
  // then answers a vector that needs AES with a crypto provider it builds
  // itself from node:crypto.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'raidakx-nowasi-'));
  try {
    const kitFiles = ['raidakx.mjs', 'memory.mjs'].map((f) => pathToFileURL(path.join(dir, f)).href);
    fs.writeFileSync(path.join(tmp, 'hooks.mjs'), `
      const kit = ${JSON.stringify(kitFiles)};
      export async function resolve(specifier, context, next) {
        if (/^(node:)?wasi$/.test(specifier)) throw new Error('blocked: ' + specifier);
        if (kit.includes(context.parentURL) && specifier.startsWith('node:')) throw new Error('blocked for the kit: ' + specifier);
        return next(specifier, context);
      }`);
    fs.writeFileSync(path.join(tmp, 'register.mjs'), `
      import { register } from 'node:module';
      register(${JSON.stringify(pathToFileURL(path.join(tmp, 'hooks.mjs')).href)});`);
    fs.writeFileSync(path.join(tmp, 'child.mjs'), `
      import fs from 'node:fs';
      import c from 'node:crypto';
      const out = {};
      try { await import('node:wasi'); out.wasi = 'importable'; } catch (err) { out.wasi = err.message; }
      const { load, MemoryBackend } = await import(${JSON.stringify(kitFiles[0])});
      const v = JSON.parse(process.env.VECTOR), bytes = fs.readFileSync(process.env.WASM);
      const hex = (s) => new Uint8Array(Buffer.from(s, 'hex'));
      const random = hex(v.random_hex);
      const state = JSON.parse(process.env.STATE);
      const backend = () => new MemoryBackend({ records: state.records.map(([k, h]) => [k, hex(h)]), files: state.files.map(([k, h]) => [k, hex(h)]),
        random: (buf) => buf.set(random.subarray(0, buf.length)), now: () => BigInt(v.time_unix) * 1000000000n });
      const opts = { raidaId: v.config.raida_id, coinId: v.config.coin_id };
      try { await load(bytes, backend(), opts); out.noProvider = 'loaded'; } catch (err) { out.noProvider = err.message; }
      const crypto = {
        aesCtr: (key, iv, data) => c.createCipheriv('aes-' + key.length * 8 + '-ctr', key, iv).update(data),
        sha256: (data) => c.createHash('sha256').update(data).digest(),
        hmacSha256: (key, data) => c.createHmac('sha256', key).update(data).digest(),
      };
      const kit = await load(bytes, backend(), { ...opts, crypto });
      out.response = Buffer.from(kit.handle(hex(v.request_hex))).toString('hex');
      console.log(JSON.stringify(out));`);
    const v = vector('k44/23-type1'); // AES-128-CTR both ways
    const { records, files } = vectorState(v).before, entries = (m) => [...m].map(([k, b]) => [k, Buffer.from(b).toString('hex')]);
    const out = JSON.parse(execFileSync(process.execPath, ['--import', pathToFileURL(path.join(tmp, 'register.mjs')).href, path.join(tmp, 'child.mjs')],
      { env: { ...process.env, VECTOR: JSON.stringify(v), STATE: JSON.stringify({ records: entries(records), files: entries(files) }), WASM }, encoding: 'utf8' }));
    assert.match(out.wasi, /blocked: node:wasi/);
    assert.match(out.noProvider, /no crypto provider: pass options.crypto/);
    assert.equal(compareResponse(hex('request_hex', v.request_hex), hex('response', out.response), hex('response_hex', v.response_hex)), null);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
