// The isolated mode (worker.mjs): a module looping without calling an
// import, which load cannot stop, is answered 252 at requestTimeoutMs with
// its page lock released and its writes committed, and the next request
// runs on a new worker; otherwise the answers, state and errnos are
// load's.

import test from 'node:test';
import assert from 'node:assert/strict';
import { compile, load, MemoryBackend } from './raidakx.mjs';
import { loadIsolated } from './worker.mjs';
import { readVectors, runVector, vectorRandom, hex, compareResponse } from './vectors.mjs';
import { WASM, FAULTY_WASM, VECTORS, readModule, faultyRequest, unhex, toHex, spyBackend, internal252, echoAnswer } from './testutil.mjs';

const RAIDA = 14, COIN = 6, TIMEOUT = 200;
const faulty = readModule(FAULTY_WASM), keyexchange = readModule(WASM);
const guard = { timeout: 30000 }; // a hang fails the test instead of the run

const loops = [
  // [name, behaviour, the backend calls before the 252 (logs left out)]
  ['a loop (behaviour 3)', 3, []],
  ['a loop holding page (1, 0) (behaviour 15)', 15, ['lock 1 0', 'unlock 1 0']],
];

for (const [name, behaviour, calls] of loops) {
  test(`isolated: ${name} is answered 252 at requestTimeoutMs, and the next request runs`, guard, async () => {
    const b = spyBackend();
    const kit = await loadIsolated(faulty, b, { raidaId: RAIDA, coinId: COIN, requestTimeoutMs: TIMEOUT });
    const start = performance.now();
    assert.equal(toHex(kit.handle(faultyRequest(RAIDA, COIN, behaviour, 0x1234))), toHex(internal252(RAIDA, 0x1234)));
    assert.ok(performance.now() - start >= TIMEOUT, 'answered no earlier than requestTimeoutMs');
    assert.ok(b.calls.includes('log module: faulty: looping'), 'the module ran into its loop');
    assert.ok(b.calls.includes(`log raidakx: request time limit of ${TIMEOUT} ms passed; terminating the isolated worker`), b.calls.join('\n'));
    assert.deepEqual(b.calls.filter((c) => !c.startsWith('log')), calls);
    assert.equal(b.held, 0, 'page lock released');

    const next = faultyRequest(RAIDA, COIN, 0, 0x5678);
    assert.equal(toHex(kit.handle(next)), toHex(echoAnswer(RAIDA, next)));
    // The looping thread exits (terminated): only the new one stays.
    while (kit.stats().live > 1) await new Promise(setImmediate);
    assert.deepEqual(kit.stats(), { requests: 2, faults: 1, instances: 2, timeouts: 1, workers: 2, live: 1 }, 'a new worker answered');
    kit.close();
  });
}

test('isolated: a request that wrote before its time ran out is committed before the 252', guard, async () => {
  // Behaviour 14 writes Keys/faulty.txt, then logs; that log call outlasts
  // the time limit, so the request is stopped after its write.
  const b = spyBackend();
  const log = b.log;
  b.log = (level, msg) => {
    log(level, msg);
    if (msg === 'module: faulty: every import called') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, TIMEOUT + 50);
  };
  const kit = await loadIsolated(faulty, b, { raidaId: RAIDA, coinId: COIN, requestTimeoutMs: TIMEOUT });
  assert.equal(toHex(kit.handle(faultyRequest(RAIDA, COIN, 14, 9))), toHex(internal252(RAIDA, 9)));
  assert.equal(new TextDecoder().decode(b.files.get('Keys/faulty.txt')), 'faulty file');
  assert.equal(b.calls.filter((c) => !c.startsWith('log')).at(-1), 'commit');
  assert.equal(kit.stats().timeouts, 1);
  kit.close();
});

test('isolated: faults load contains are contained the same way, in the worker', guard, async () => {
  const b = spyBackend();
  const kit = await loadIsolated(faulty, b, { raidaId: RAIDA, coinId: COIN, requestTimeoutMs: 5000 });
  assert.equal(toHex(kit.handle(faultyRequest(RAIDA, COIN, 5, 1))), toHex(internal252(RAIDA, 1))); // a panic holding a lock
  assert.equal(b.held, 0);
  assert.ok(b.calls.some((c) => c.startsWith('log raidakx: instance failed; replacing it: unreachable')), b.calls.join('\n'));
  const next = faultyRequest(RAIDA, COIN, 0, 2);
  assert.equal(toHex(kit.handle(next)), toHex(echoAnswer(RAIDA, next)));
  assert.deepEqual(kit.stats(), { requests: 2, faults: 1, instances: 2, timeouts: 0, workers: 1, live: 1 });
  kit.close();
});

test('isolated: every test vector gives load\'s answer and state', guard, async () => {
  // One isolated kit per node identity, its backend switched to each
  // vector's: a worker per vector would take most of a minute.
  const kits = new Map();
  const open = async (backend, { raidaId, coinId }) => {
    const key = `${raidaId}/${coinId}`;
    if (!kits.has(key)) {
      const target = {};
      const proxy = new Proxy({}, { get: (_, m) => (...args) => target.backend[m](...args) });
      kits.set(key, { target, kit: await loadIsolated(keyexchange, proxy, { raidaId, coinId, requestTimeoutMs: 5000 }) });
    }
    const { target, kit } = kits.get(key);
    target.backend = backend;
    return { handle: (req) => kit.handle(req), close() {} };
  };
  const vectors = readVectors([VECTORS]), failures = [];
  for (const v of vectors) {
    const problems = await runVector(null, v, undefined, open);
    if (problems.length) failures.push(`${v.name}: ${problems.join('; ')}`);
  }
  for (const { kit } of kits.values()) kit.close();
  assert.deepEqual(failures, []);
  assert.ok(vectors.length >= 300);
});

test('isolated: a backend exception reaches the module as load gives it: ENOSPC is ErrNoSpace', guard, async () => {
  const v = readVectors([VECTORS]).find((x) => x.name === 'k41/type0'); // 41 writes a Keys/ file; the module logs why it failed
  const module = await compile(keyexchange);
  const answers = [];
  for (const open of [load, loadIsolated]) {
    const logs = [];
    const backend = new MemoryBackend({ random: vectorRandom(hex('random_hex', v.random_hex)).random, now: () => 0n, log: (l, m) => logs.push(m) });
    backend.writeFile = () => { throw Object.assign(new Error('disk full'), { code: 'ENOSPC' }); };
    const kit = await open(open === load ? module : keyexchange, backend, { raidaId: v.config.raida_id, coinId: v.config.coin_id });
    answers.push(kit.handle(hex('request_hex', v.request_hex)));
    kit.close();
    assert.ok(logs.includes('raidakx: file_write failed: disk full'), logs.join('\n'));
    assert.ok(logs.includes('module: post key: no space left'), logs.join('\n'));
  }
  assert.notEqual(answers[1][2], 250);
  assert.equal(compareResponse(hex('request_hex', v.request_hex), answers[1], answers[0]), null);
});

test('isolated: bad arguments and a module the worker cannot start are clear errors', guard, async () => {
  const b = new MemoryBackend();
  await assert.rejects(loadIsolated(faulty, b, { raidaId: RAIDA, coinId: COIN, requestTimeoutMs: 0 }), /requestTimeoutMs 0: want a positive number/);
  await assert.rejects(loadIsolated(faulty, b, { raidaId: RAIDA, coinId: COIN, memoryLimit: 64 << 20 }), /resourceLimits do not bound WebAssembly memory/);
  await assert.rejects(loadIsolated(faulty, { random() {} }, { raidaId: RAIDA, coinId: COIN }), /the backend has no method lockPage, unlockPage/);
  await assert.rejects(loadIsolated(faulty, b, { raidaId: 25, coinId: COIN }), /the isolated worker did not start: raidakx: raidaId 25: want an integer 0..24/);
  await assert.rejects(loadIsolated(unhex('0061736d 01000000'), b, { raidaId: RAIDA, coinId: COIN }), /the isolated worker did not start: module does not implement raidakx ABI v2:\n {2}does not export function _initialize/);
  const kit = await loadIsolated(faulty, b, { raidaId: RAIDA, coinId: COIN });
  kit.close();
  assert.throws(() => kit.handle(new Uint8Array(32)), /handle after close/);
});
