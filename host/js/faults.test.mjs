// Fault containment (abi/ABI.md section 6) with the faulty module
// (host/engine/testdata/faulty, behaviours in wasm/wasmtest/wasmtest.go):
// every fault is answered 252, the page lock is released, and the next
// request runs on a new instance.

import test from 'node:test';
import assert from 'node:assert/strict';
import { compile, load } from './raidakx.mjs';
import { FAULTY_WASM, readModule, faultyRequest, toHex, spyBackend, internal252, echoAnswer } from './testutil.mjs';

const RAIDA = 14, COIN = 6;
const module = await compile(readModule(FAULTY_WASM));

const faults = [
  // [name, behaviour, D (body bytes 0-3), why the kit faults it]
  ['Go panic', 1, undefined, 'unreachable'], // GOTRACEBACK=crash in a c-shared build,
  ['WebAssembly trap', 2, undefined, 'memory access out of bounds'],
  ['panic holding a lock', 5, undefined, 'unreachable'],
  ['bad pointer holding a lock', 6, undefined, 'pointer 0xfffffff0 length 17 outside memory'],
  ['write then panic', 7, undefined, 'unreachable'],
  ['returns holding a lock', 8, undefined, 'returned holding a page lock'],
  ['short answer', 9, undefined, 'returned a 5-byte response'],
  ['unlock of a page not held', 10, 1, 'page_unlock(1, 0) of a page not held'],
  ['second lock', 11, 1, 'page_lock(1, 0) while holding (1, 0)'],
  ['bad pointer, den out of range', 12, 300, 'pointer 0xfffffff0 length 17 outside memory'],
  ['aes_ctr 24-byte key', 17, 24, 'aes_ctr with a 24-byte key, want 16 or 32'],
  ['aes_ctr key outside memory', 17, -1, 'length 4294967295 outside memory'],
  ['aes_ctr buffer outside memory', 18, undefined, 'pointer 0xfffffff0 length 16 outside memory'],
  ['sha256 too long', 19, 65537, 'sha256 of 65537 bytes, more than 65536'],
  ['hmac_sha256 output outside memory', 20, undefined, 'pointer 0xfffffff0 length 32 outside memory'],
];

for (const [name, behaviour, d, reason] of faults) {
  test(`fault: ${name} (behaviour ${behaviour}) is answered 252 on a new instance`, async () => {
    const b = spyBackend();
    const kit = await load(module, b, { raidaId: RAIDA, coinId: COIN });
    assert.equal(toHex(kit.handle(faultyRequest(RAIDA, COIN, behaviour, 0x1234, d))), toHex(internal252(RAIDA, 0x1234)));
    assert.equal(b.held, 0, 'page lock released');
    assert.ok(b.calls.some((c) => c.startsWith('log raidakx: instance failed') && c.includes(reason)), `log says "${reason}":\n${b.calls.join('\n')}`);
    assert.deepEqual(kit.stats(), { requests: 1, faults: 1, instances: 1 });

    const next = faultyRequest(RAIDA, COIN, 0, 0x5678);
    assert.equal(toHex(kit.handle(next)), toHex(echoAnswer(RAIDA, next)));
    assert.deepEqual(kit.stats(), { requests: 2, faults: 1, instances: 2 }, 'a new instance answered');
  });
}

test('fault: a type-4 request gets the 48-byte 252 answer', async () => {
  const kit = await load(module, spyBackend(), { raidaId: RAIDA, coinId: COIN });
  const req = faultyRequest(RAIDA, COIN, 1, 0x1234); // a Go panic
  req[16] = 4;
  // Raida id, 0, status 252, group 0; byte 16 the type; bytes 46-47 the
  // request's (body bytes 14-15: 1e 1f); all else zero.
  const want = `0e00fc00 ${'00'.repeat(12)} 04 ${'00'.repeat(29)} 1e1f`.replace(/ /g, '');
  assert.equal(toHex(kit.handle(req)), want);
});

test('fault: a write completed before a trap is committed before the 252', async () => {
  const b = spyBackend();
  const kit = await load(module, b, { raidaId: RAIDA, coinId: COIN });
  assert.equal(kit.handle(faultyRequest(RAIDA, COIN, 7, 1))[2], 252);
  // FaultyRecord: AN "faulty-record-07", MFS 0x5a.
  assert.equal(toHex(b.records.get('1/7')), toHex(new TextEncoder().encode('faulty-record-07')) + '5a');
  assert.deepEqual(b.calls.filter((c) => !c.startsWith('log')), ['lock 1 0', 'unlock 1 0', 'commit']);
});

test('fault: a commit that throws answers 252', async () => {
  const b = spyBackend({ commit() { throw new Error('disk on fire'); } });
  const kit = await load(module, b, { raidaId: RAIDA, coinId: COIN });
  // Behaviour 14 is healthy and writes Keys/faulty.txt.
  assert.equal(toHex(kit.handle(faultyRequest(RAIDA, COIN, 14, 9))), toHex(internal252(RAIDA, 9)));
  assert.ok(b.calls.includes('log raidakx: commit failed; answering 252: disk on fire'), b.calls.join('\n'));
});

test('fault: requestTimeoutMs stops a module that calls imports past it', async () => {
  const b = spyBackend();
  const kit = await load(module, b, { raidaId: RAIDA, coinId: COIN, requestTimeoutMs: 20 });
  // Behaviour 13 calls time_now until D microseconds passed: 100 s here.
  assert.equal(toHex(kit.handle(faultyRequest(RAIDA, COIN, 13, 2, 100e6))), toHex(internal252(RAIDA, 2)));
  assert.ok(b.calls.some((c) => c.includes('request time limit of 20 ms passed')), b.calls.join('\n'));
});

const healthy = [
  // [name, behaviour, D, the challenge the answer starts with]
  ['every other import', 14, undefined, '101112131415161718191a1b1c1d1e1f'],
  ['record_read holding the lock', 16, undefined, '101112131415161718191a1b1c1d1e1f'],
  ['aes_ctr, NIST SP 800-38A F.5.1 block 1', 21, undefined, '874d6191b620e3261bef6864990db6ce'],
  ['aes_ctr AES-256, F.5.5 block 1', 17, 32, '601ec313'],
  ['sha256 of nothing', 19, 0, 'e3b0c442'],
];

for (const [name, behaviour, d, challenge] of healthy) {
  test(`healthy: ${name} (behaviour ${behaviour})`, async () => {
    const b = spyBackend();
    const kit = await load(module, b, { raidaId: RAIDA, coinId: COIN });
    const resp = kit.handle(faultyRequest(RAIDA, COIN, behaviour, 3, d));
    assert.equal(resp[2], 250, b.calls.join('\n'));
    assert.equal(toHex(resp.subarray(16, 16 + challenge.length / 2)), challenge);
    assert.equal(b.held, 0);
    assert.deepEqual(kit.stats(), { requests: 1, faults: 0, instances: 1 });
  });
}

test('healthy: file_write and file_read reach the backend, and the write is committed', async () => {
  const b = spyBackend();
  const kit = await load(module, b, { raidaId: RAIDA, coinId: COIN });
  assert.equal(kit.handle(faultyRequest(RAIDA, COIN, 14, 3))[2], 250);
  assert.equal(new TextDecoder().decode(b.files.get('Keys/faulty.txt')), 'faulty file');
  assert.ok(b.calls.includes('log module: faulty: every import called'));
  assert.equal(b.calls.at(-1), 'commit');
});
