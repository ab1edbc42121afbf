// The file backend: what it refuses, and that a write is on disk, made
// durable in the Go host's order, before handle returns.

import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { compile, load } from './raidakx.mjs';
import { FileBackend, pagePath } from './file.mjs';
import { readVectors, vectorState, vectorRandom, hex } from './vectors.mjs';
import { WASM, FAULTY_WASM, VECTORS, readModule, toHex, faultyRequest, pageFile, makeRoot } from './testutil.mjs';

const module = await compile(readModule(WASM));
const faulty = await compile(readModule(FAULTY_WASM));
const empty = () => makeRoot({ records: new Map(), files: new Map() });
const vector = (name) => readVectors([VECTORS]).find((v) => v.name === name);

// recordingFs is node:fs with the calls that open, write, sync, rename
// and make folders logged to calls, with paths relative to root.
function recordingFs(root, calls) {
  const rel = (p) => path.relative(root, p) || '.';
  const fds = new Map();
  return {
    ...fs,
    openSync(p, ...rest) { const fd = fs.openSync(p, ...rest); fds.set(fd, rel(p)); calls.push(`open ${rel(p)}`); return fd; },
    writeSync(fd, ...rest) { calls.push(`write ${fds.get(fd)}`); return fs.writeSync(fd, ...rest); },
    fsyncSync(fd) { calls.push(`fsync ${fds.get(fd)}`); return fs.fsyncSync(fd); },
    closeSync(fd) { calls.push(`close ${fds.get(fd)}`); return fs.closeSync(fd); },
    renameSync(a, b) { calls.push(`rename ${rel(a)} ${rel(b)}`); return fs.renameSync(a, b); },
    mkdirSync(p, ...rest) { calls.push(`mkdir ${rel(p)}`); return fs.mkdirSync(p, ...rest); },
  };
}

// assertInOrder asserts that want occur in calls in this order.
function assertInOrder(calls, want) {
  let i = 0;
  for (const c of calls) if (c === want[i]) i++;
  assert.equal(i, want.length, `missing or out of order: ${want[i]}\ncalls:\n  ${calls.join('\n  ')}`);
}

test('file backend: a record write is durable before handle returns', async () => {
  const v = vector('k45/single-split0'); // changes record (2, 200): page 0 of den 2
  const { before, expect } = vectorState(v);
  const root = makeRoot(before), calls = [];
  try {
    const time = BigInt(v.time_unix) * 1000000000n;
    const backend = new FileBackend(root, { fs: recordingFs(root, calls), random: vectorRandom(hex('random_hex', v.random_hex)).random, now: () => time });
    const kit = await load(module, backend, { raidaId: v.config.raida_id, coinId: v.config.coin_id });
    const resp = kit.handle(hex('request_hex', v.request_hex));
    calls.push('handle returned');
    assert.equal(resp[2], 250);
    const dir = path.join('Data', '02', '00'), tmp = path.join(dir, '.0000.bin.tmp'), page = path.join(dir, '0000.bin');
    assertInOrder(calls, [`open ${tmp}`, `write ${tmp}`, `fsync ${tmp}`, `close ${tmp}`, `rename ${tmp} ${page}`,
      `open ${dir}`, `fsync ${dir}`, 'handle returned']);
    const disk = fs.readFileSync(pageFile(root, 2, 200));
    assert.equal(toHex(disk.subarray(200 * 17, 201 * 17)), toHex(expect.records.get('2/200')));
    assert.equal(fs.readdirSync(path.join(root, dir)).join(), '0000.bin', 'no temporary file left');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('file backend: a Keys/ file is durable before handle returns', async () => {
  const v = vector('k41/type0'); // writes Keys/6721f524...
  const root = empty(), calls = [];
  try {
    const time = BigInt(v.time_unix) * 1000000000n;
    const backend = new FileBackend(root, { fs: recordingFs(root, calls), random: vectorRandom(hex('random_hex', v.random_hex)).random, now: () => time });
    const kit = await load(module, backend, { raidaId: v.config.raida_id, coinId: v.config.coin_id });
    assert.equal(kit.handle(hex('request_hex', v.request_hex))[2], 250);
    calls.push('handle returned');
    const [name, want] = [...vectorState(v).expect.files][0];
    const tmp = calls.find((c) => c.startsWith('open Keys/.raidakx-tmp-')).slice('open '.length);
    assertInOrder(calls, [`open ${tmp}`, `write ${tmp}`, `fsync ${tmp}`, `close ${tmp}`, `rename ${tmp} ${name}`,
      'open Keys', 'fsync Keys', 'handle returned']);
    assert.equal(toHex(fs.readFileSync(path.join(root, name))), toHex(want));
    assert.equal((fs.statSync(path.join(root, name)).mode & 0o777).toString(8), '640');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('file backend: a new page and its folders are made durably, and a write before a trap stays', async () => {
  const root = empty(), calls = [];
  try {
    const kit = await load(faulty, new FileBackend(root, { fs: recordingFs(root, calls) }), { raidaId: 1, coinId: 6 });
    // Behaviour 7 writes (1, 7), unlocks, then panics.
    assert.equal(kit.handle(faultyRequest(1, 6, 7, 1))[2], 252);
    assertInOrder(calls, ['mkdir Data/01', 'open Data', 'fsync Data', 'mkdir Data/01/00', 'open Data/01', 'fsync Data/01',
      'open Data/01/00/.0000.bin.tmp', 'fsync Data/01/00/.0000.bin.tmp', 'rename Data/01/00/.0000.bin.tmp Data/01/00/0000.bin',
      'open Data/01/00', 'fsync Data/01/00']);
    const disk = fs.readFileSync(pageFile(root, 1, 7));
    assert.equal(disk.length, 17408);
    assert.equal(toHex(disk.subarray(7 * 17, 8 * 17)), toHex(new TextEncoder().encode('faulty-record-07')) + '5a');
    assert.equal(disk.subarray(0, 7 * 17).some((b) => b !== 0) || disk.subarray(8 * 17).some((b) => b !== 0), false);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('file backend: a failed commit leaves the disk as it was and reads see the disk', async () => {
  const root = empty();
  try {
    const failing = { ...fs, renameSync() { throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }); } };
    const backend = new FileBackend(root, { fs: failing });
    backend.writeRecord(1, 7, new Uint8Array(17).fill(9));
    assert.equal(backend.readRecord(1, 7)[0], 9, 'a pending write is read back');
    assert.throws(() => backend.commit(), /no space left/);
    assert.equal(toHex(backend.readRecord(1, 7)), '00'.repeat(17));
    assert.equal(fs.existsSync(pageFile(root, 1, 7)), false);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('file backend: page file layout', () => {
  assert.equal(pagePath(1, 999), '01/03/03e7.bin');
  assert.equal(pagePath(-8, 0), 'f8/00/0000.bin');
  assert.equal(pagePath(6, 256), '06/01/0100.bin');
});

test('file backend: refuses what it must not serve', async (t) => {
  const cases = [
    // [name, how the root is spoiled, what the error says]
    ['no Keys/ folder', (root) => fs.rmSync(path.join(root, 'Keys'), { recursive: true }), /no Keys\/ folder/],
    ['a journal with batches', (root) => fs.writeFileSync(path.join(root, 'raidakx.journal'), Buffer.alloc(40)), /raidakx\.journal \(40 bytes\) holds changes/],
    ['an old journal', (root) => fs.writeFileSync(path.join(root, 'raidakx.journal.old'), Buffer.alloc(16)), /raidakx\.journal\.old \(16 bytes\)/],
  ];
  for (const [name, spoil, want] of cases) {
    await t.test(name, () => {
      const root = empty();
      try {
        spoil(root);
        assert.throws(() => new FileBackend(root), want);
      } finally {
        fs.rmSync(root, { recursive: true, force: true });
      }
    });
  }
  await t.test('an empty journal (header only) is accepted', () => {
    const root = empty();
    try {
      fs.writeFileSync(path.join(root, 'raidakx.journal'), Buffer.alloc(16));
      assert.ok(new FileBackend(root));
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

test('file backend: a page file of the wrong size and a symbolic link are storage errors', async () => {
  const root = empty();
  try {
    const page = pageFile(root, 1, 7);
    fs.mkdirSync(path.dirname(page), { recursive: true });
    fs.writeFileSync(page, Buffer.alloc(100));
    fs.symlinkSync(page, path.join(root, 'Keys', 'link'));
    const backend = new FileBackend(root);
    assert.throws(() => backend.readRecord(1, 7), /page file has 100 bytes, want 17408/);
    assert.throws(() => backend.readFile('Keys', 'link'), /ELOOP/);
    assert.equal(fs.statSync(page).size, 100, 'never resized');
    const logs = [];
    const kit = await load(faulty, new FileBackend(root, { log: (l, m) => logs.push(m) }), { raidaId: 1, coinId: 6 });
    // Behaviour 16 reads (1, 7) under its lock and panics when that fails.
    assert.equal(kit.handle(faultyRequest(1, 6, 16, 1))[2], 252);
    assert.ok(logs.some((m) => /record_read failed: .*page file has 100 bytes/.test(m)), logs.join('\n'));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
