// worker.mjs: the kit in an isolated mode, for Node.js only: the instance
// runs in a worker thread, so that a module looping without calling an
// import (build/faulty.wasm behaviour 3), which load cannot stop, is
// stopped at requestTimeoutMs and answered 252.
//
//   import { loadIsolated } from 'raidakx/worker';
//   const node = await loadIsolated(wasmBytes, backend, { raidaId: 14, coinId: 6, requestTimeoutMs: 1000 });
//   const answer = node.handle(request);   // synchronous, as with load
//   node.close();
//
// loadIsolated(wasmBytes, backend, options) takes the module's bytes, a
// backend as load does (raidakx.mjs, abi/ABI.md section 8) and raidaId,
// coinId and requestTimeoutMs (default 1000; it must be positive); it
// refuses memoryLimit (see Limits). It returns { handle, close, stats } as
// load does; stats also counts timeouts, workers started and live ones.
//
// The worker runs load (raidakx.mjs) itself, with node:crypto, and answers
// every fault but a timeout as load does. The backend stays in the calling
// thread: the worker calls it through a SharedArrayBuffer, posting the call
// and waiting (Atomics.wait) while handle, which waits for the answer the
// same way, serves it. When requestTimeoutMs passes first, handle
// terminates the worker (V8 stops running WebAssembly there), releases the
// page lock the instance held (handle saw every lockPage and unlockPage),
// commits if the request wrote, answers the 252 of abi/ABI.md section 6,
// and starts a new worker, which the next request waits for.
//
// Limits:
//   - Each backend call crosses threads: a request costs more than with
//     load (see SPIN).
//   - A value crossing the channel is at most CHANNEL_CAP bytes: readFile
//     of a larger file fails (ErrIO), as does a longer log message.
//   - The module's memory is not capped: a worker's resourceLimits bound
//     the JavaScript heap only, not WebAssembly memory or ArrayBuffers
//     (checked on Node.js 20: a worker limited to 16 MiB of heap grew a
//     WebAssembly.Memory to 512 MiB).
//   - A worker that dies without answering (not a fault load catches) is
//     noticed at requestTimeoutMs, like a loop.

import { Worker, isMainThread, workerData } from 'node:worker_threads';
import { load, internalError, admitRequest, REQUEST_CAP } from './raidakx.mjs';

// CHANNEL_CAP bounds what crosses the channel at once: a request (the
// largest payload), or a call's arguments or result (4,096-byte files).
export const CHANNEL_CAP = REQUEST_CAP + 256;
const START_TIMEOUT_MS = 30000; // a new worker's compile and instantiate
const RANDOM_CHUNK = 65536; // random bytes per call

// The words of the channel's Int32Array: whose turn it is, what was posted,
// the length of a request or answer in the data, and the worker's counts.
const TURN = 0, KIND = 1, LEN = 2, FAULTS = 3, INSTANCES = 4, WORDS = 5;
const WORKER = 0, MAIN = 1; // values of TURN
// Values of KIND. A backend call is 100 + its index in METHODS.
const REQUEST = 1, REPLY = 2, READY = 3, FAILED = 4, ANSWER = 5, CALL = 100;
const METHODS = ['random', 'lockPage', 'unlockPage', 'readRecord', 'writeRecord', 'commit', 'readFile', 'writeFile', 'now', 'log'];

// channel returns the views of a channel's SharedArrayBuffer.
function channel(sab) {
  const ctl = new Int32Array(sab, 0, WORDS), data = new Uint8Array(sab, WORDS * 4);
  // post hands the turn to the other thread.
  const post = (kind, turn) => {
    ctl[KIND] = kind;
    Atomics.store(ctl, TURN, turn);
    Atomics.notify(ctl, TURN);
  };
  return { ctl, data, view: new DataView(sab, WORDS * 4), post };
}
const newChannel = () => channel(new SharedArrayBuffer(WORDS * 4 + CHANNEL_CAP));

// SPIN is how many times (about 10 us) a thread polls the channel before
// it sleeps in Atomics.wait: a backend call is answered within it, and
// waking a sleeping thread costs tens of microseconds (60 on a loaded
// 2-core machine, against under 1 when polling). A 44 took 67 us here
// against 18 with load; 500 without polling.
const SPIN = 2000;

// waitWhile waits, at most ms, while the channel's turn is turn.
function waitWhile(ch, turn, ms) {
  for (let i = 0; i < SPIN; i++) if (Atomics.load(ch.ctl, TURN) !== turn) return;
  Atomics.wait(ch.ctl, TURN, turn, ms);
}

// Values cross the channel as a tag byte and then: a float64, an int64, or
// a uint32 length and the bytes (a string in UTF-8).
const T_UNDEFINED = 0, T_NULL = 1, T_NUMBER = 2, T_BIGINT = 3, T_STRING = 4, T_BYTES = 5;
const utf8 = new TextEncoder(), fromUtf8 = new TextDecoder();

// putValues writes values into ch.data and returns the length. It throws
// for a value of another type or past CHANNEL_CAP.
function putValues(ch, values) {
  let off = 0;
  const room = (n) => {
    if (off + n > CHANNEL_CAP) throw new RangeError(`more than the ${CHANNEL_CAP} bytes the isolated kit's channel carries`);
  };
  for (const v of values) {
    room(9);
    if (typeof v === 'number') {
      ch.data[off] = T_NUMBER;
      ch.view.setFloat64(off + 1, v, true);
      off += 9;
    } else if (typeof v === 'bigint') {
      ch.data[off] = T_BIGINT;
      ch.view.setBigInt64(off + 1, BigInt.asIntN(64, v), true);
      off += 9;
    } else if (typeof v === 'string' || v instanceof Uint8Array) {
      const b = typeof v === 'string' ? utf8.encode(v) : v;
      room(5 + b.length);
      ch.data[off] = typeof v === 'string' ? T_STRING : T_BYTES;
      ch.view.setUint32(off + 1, b.length, true);
      ch.data.set(b, off + 5);
      off += 5 + b.length;
    } else if (v == null) {
      ch.data[off++] = v === null ? T_NULL : T_UNDEFINED;
    } else {
      throw new TypeError(`a ${v?.constructor?.name ?? typeof v}, which the isolated kit's channel does not carry`);
    }
  }
  return off;
}

// getValues reads back what putValues wrote (len bytes), copying the bytes.
function getValues(ch, len) {
  const out = [];
  for (let off = 0; off < len;) {
    const tag = ch.data[off++];
    if (tag === T_NUMBER) { out.push(ch.view.getFloat64(off, true)); off += 8; }
    else if (tag === T_BIGINT) { out.push(ch.view.getBigInt64(off, true)); off += 8; }
    else if (tag === T_STRING || tag === T_BYTES) {
      const n = ch.view.getUint32(off, true), b = ch.data.slice(off + 4, off + 4 + n);
      out.push(tag === T_STRING ? fromUtf8.decode(b) : b);
      off += 4 + n;
    } else out.push(tag === T_NULL ? null : undefined);
  }
  return out;
}

// ---- the calling thread --------------------------------------------------

export async function loadIsolated(wasmBytes, backend, { raidaId, coinId, requestTimeoutMs = 1000, memoryLimit } = {}) {
  if (!(requestTimeoutMs > 0 && requestTimeoutMs < Infinity)) throw new Error(`raidakx: requestTimeoutMs ${requestTimeoutMs}: want a positive number of milliseconds`);
  if (memoryLimit !== undefined) throw new Error('raidakx: memoryLimit: a worker\'s resourceLimits do not bound WebAssembly memory, so the isolated kit cannot cap it');
  const missing = METHODS.filter((m) => m !== 'log' && typeof backend?.[m] !== 'function');
  if (missing.length) throw new Error(`raidakx: the backend has no method ${missing.join(', ')}`);
  if (!ArrayBuffer.isView(wasmBytes) && !(wasmBytes instanceof ArrayBuffer)) throw new Error('raidakx: loadIsolated wants the module\'s bytes');
  // A copy: each new worker gets it, so the caller may reuse its buffer.
  const bytes = ArrayBuffer.isView(wasmBytes) ? new Uint8Array(wasmBytes.buffer, wasmBytes.byteOffset, wasmBytes.byteLength).slice() : new Uint8Array(wasmBytes.slice(0));
  const say = (level, message) => { try { backend.log?.(level, message); } catch { /* a logger must not fail a request */ } };

  // worker and ch are the current worker and its channel (a new one per
  // worker: a terminated worker may still write to its own). lock is the
  // page lock the instance holds, wrote whether the request wrote.
  let worker = null, ch = null, ready = false, lock = null, wrote = false, busy = false, closed = false;
  const stats = { requests: 0, faults: 0, instances: 0, timeouts: 0, workers: 0, live: 0 };
  const counted = { faults: 0, instances: 0 }; // by the workers gone

  function spawn() {
    ch = newChannel();
    ready = false;
    worker = new Worker(new URL(import.meta.url), {
      workerData: { raidakxIsolated: true, sab: ch.ctl.buffer, bytes, raidaId, coinId, log: typeof backend.log === 'function' },
    });
    worker.unref(); // an idle worker does not keep the process alive
    worker.on('error', (err) => say(2, `raidakx: an isolated worker failed: ${err?.message ?? err}`));
    worker.on('exit', () => stats.live--);
    stats.workers++;
    stats.live++;
  }
  function kill() {
    counted.faults += ch.ctl[FAULTS];
    counted.instances += ch.ctl[INSTANCES];
    worker.terminate();
    worker = null;
  }

  // serve runs the backend call the worker posted and hands it the result.
  function serve(method) {
    const args = getValues(ch, ch.ctl[LEN]);
    // As load's own bookkeeping: a write counts, and a lock is gone, even
    // when the method throws.
    if (method === 'writeRecord' || method === 'writeFile') wrote = true;
    if (method === 'commit') wrote = false;
    if (method === 'unlockPage') lock = null;
    let reply;
    try {
      let result;
      if (method === 'random') {
        result = new Uint8Array(args[0]);
        backend.random(result);
      } else {
        result = backend[method](...args);
      }
      if (method === 'lockPage') lock = { den: args[0], page: args[1] };
      reply = putValues(ch, [1, result]);
    } catch (err) {
      const message = String(err?.message ?? err).slice(0, 1024);
      reply = putValues(ch, [0, typeof err?.code === 'string' ? err.code : null, message]);
    }
    ch.ctl[LEN] = reply;
    ch.post(REPLY, WORKER);
  }

  // step serves a call the worker posted, and returns what else it posted,
  // or 0 when it is the worker's turn.
  function step() {
    if (Atomics.load(ch.ctl, TURN) !== MAIN) return 0;
    const kind = ch.ctl[KIND];
    if (kind < CALL) return kind;
    serve(METHODS[kind - CALL]);
    return CALL;
  }
  // waitFor returns what the worker posted other than calls, serving
  // those, or 0 when deadline (performance.now()) passed first.
  function waitFor(deadline) {
    for (;;) {
      const kind = step();
      if (kind && kind !== CALL) return kind;
      const left = deadline - performance.now();
      if (left <= 0) return 0;
      if (!kind) waitWhile(ch, WORKER, left);
    }
  }
  // started checks what a starting worker posted.
  function started(kind) {
    if (kind === READY) { ready = true; return; }
    const why = kind === FAILED ? getValues(ch, ch.ctl[LEN])[0] : `no answer in ${START_TIMEOUT_MS} ms`;
    kill();
    throw new Error(`raidakx: the isolated worker did not start: ${why}`);
  }

  // The first worker: waited for asynchronously, so that its 'error' and
  // 'exit' events (a worker that cannot even load this file) are seen.
  spawn();
  worker.ref(); // the process waits for it
  const gone = new Promise((resolve) => {
    worker.once('error', (err) => resolve({ why: err?.message ?? err }));
    worker.once('exit', (code) => resolve({ why: `it exited with code ${code}` }));
  });
  for (const deadline = performance.now() + START_TIMEOUT_MS; ;) {
    const kind = step();
    if (kind && kind !== CALL) {
      started(kind);
      worker.unref();
      break;
    }
    const left = deadline - performance.now();
    if (left <= 0) started(0);
    if (kind) continue;
    const wait = Atomics.waitAsync(ch.ctl, TURN, WORKER, left);
    const end = await Promise.race([wait.value, gone]);
    if (end.why && step() === 0) { // gone without a word
      kill();
      throw new Error(`raidakx: the isolated worker did not start: ${end.why}`);
    }
  }

  return {
    // handle answers one request as load's does; a request running past
    // requestTimeoutMs is answered 252 (see the header).
    handle(request) {
      const req = admitRequest(request, closed, busy);
      busy = true;
      stats.requests++;
      try {
        if (!ready) {
          try {
            if (!worker) spawn();
            started(waitFor(performance.now() + START_TIMEOUT_MS));
          } catch (err) {
            stats.faults++;
            say(2, `${err.message}; answering 252`);
            return internalError(req, raidaId);
          }
        }
        ch.data.set(req);
        ch.ctl[LEN] = req.length;
        wrote = false;
        ch.post(REQUEST, WORKER);
        if (waitFor(performance.now() + requestTimeoutMs) === ANSWER) return ch.data.slice(0, ch.ctl[LEN]);

        stats.faults++;
        stats.timeouts++;
        say(1, `raidakx: request time limit of ${requestTimeoutMs} ms passed; terminating the isolated worker`);
        kill();
        spawn(); // starts while the 252 goes out; the next request waits for it
        if (lock) {
          try { backend.unlockPage(lock.den, lock.page); } catch (err) { say(2, `raidakx: unlockPage(${lock.den}, ${lock.page}) failed: ${err?.message ?? err}`); }
          lock = null;
        }
        if (wrote) {
          wrote = false;
          try { backend.commit(); } catch (err) { say(2, `raidakx: commit failed: ${err?.message ?? err}`); }
        }
        return internalError(req, raidaId);
      } finally {
        busy = false;
      }
    },
    // close stops the worker; the backend stays the caller's.
    close() {
      closed = true;
      if (worker) kill();
    },
    // stats counts requests, faults (timeouts included), instances made
    // (in every worker), timeouts, workers started, and live: the workers
    // whose threads have not exited yet (seen as the event loop runs).
    stats() {
      const live = (word) => (worker ? ch.ctl[word] : 0);
      return { ...stats, faults: stats.faults + counted.faults + live(FAULTS), instances: counted.instances + live(INSTANCES) };
    },
  };
}

// ---- the worker ----------------------------------------------------------

if (!isMainThread && workerData?.raidakxIsolated) {
  const { sab, bytes, raidaId, coinId, log } = workerData;
  const ch = channel(sab);
  let node = null;
  const post = (kind) => {
    if (node) {
      const { faults, instances } = node.stats();
      ch.ctl[FAULTS] = faults;
      ch.ctl[INSTANCES] = instances;
    }
    ch.post(kind, MAIN);
    waitWhile(ch, MAIN);
  };
  // call runs a backend method in the calling thread.
  const call = (method, ...args) => {
    ch.ctl[LEN] = putValues(ch, args);
    post(CALL + METHODS.indexOf(method));
    const [ok, a, b] = getValues(ch, ch.ctl[LEN]);
    if (ok) return a;
    throw Object.assign(new Error(b), a === null ? {} : { code: a });
  };
  const backend = Object.fromEntries(METHODS.map((m) => [m, (...args) => call(m, ...args)]));
  backend.random = (buf) => {
    for (let i = 0; i < buf.length; i += RANDOM_CHUNK) buf.set(call('random', Math.min(RANDOM_CHUNK, buf.length - i)), i);
  };
  if (!log) delete backend.log;

  try {
    node = await load(bytes, backend, { raidaId, coinId });
  } catch (err) {
    ch.ctl[LEN] = putValues(ch, [String(err?.message ?? err).slice(0, 4096)]);
    ch.post(FAILED, MAIN);
  }
  if (node) {
    for (post(READY); ; post(ANSWER)) {
      const resp = node.handle(ch.data.slice(0, ch.ctl[LEN]));
      ch.data.set(resp);
      ch.ctl[LEN] = resp.length;
    }
  }
}
