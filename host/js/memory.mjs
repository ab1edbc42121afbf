// memory.mjs: the in-memory backend (abi/ABI.md section 8), and the system
// random source and clock every backend defaults to. Dependency-free: it
// runs wherever the kit does.

const RECORD = 17; // AN 16 bytes, MFS 1 byte
const RANDOM_CHUNK = 65536; // the most getRandomValues fills at once

// systemRandom fills buf with cryptographic random bytes (Web Crypto's
// getRandomValues: Node.js 19+, Deno, Bun and browsers have it).
export function systemRandom(buf) {
  for (let i = 0; i < buf.length; i += RANDOM_CHUNK) {
    globalThis.crypto.getRandomValues(buf.subarray(i, i + RANDOM_CHUNK));
  }
}

// systemNow returns the time in nanoseconds since the Unix epoch, to the
// microsecond: the module measures the execution time it answers (bytes
// 12-15) with it, which Date.now()'s milliseconds would round to 0.
export function systemNow() {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
}

// MemoryBackend keeps the records and files in two Maps, readable as
// .records ("den/sn" -> 17-byte record; absent reads as zeros) and .files
// ("coins/NAME" or "Keys/NAME" -> bytes). Options:
//   records, files  initial content of the two maps (a Map or entries;
//                   files may also be a plain object, as in a test vector)
//   random(buf)     fills buf (systemRandom); throwing gives ErrNoRandom
//   now()           nanoseconds since the epoch, a BigInt (systemNow)
//   log(level, message)  the module's and the kit's messages (dropped)
// A single-threaded host runs one instance at a time, so the page locks do
// nothing, and nothing needs committing.
export class MemoryBackend {
  constructor({ records = [], files = [], random = systemRandom, now = systemNow, log = () => {} } = {}) {
    this.records = new Map(records);
    this.files = new Map(files instanceof Map || Array.isArray(files) ? files : Object.entries(files));
    Object.assign(this, { random, now, log });
  }

  lockPage() {}
  unlockPage() {}
  readRecord(den, sn) { return this.records.get(`${den}/${sn}`) ?? new Uint8Array(RECORD); }
  writeRecord(den, sn, rec) { this.records.set(`${den}/${sn}`, rec); }
  commit() {}
  readFile(dir, name) { return this.files.get(`${dir}/${name}`) ?? null; }
  writeFile(dir, name, data) { this.files.set(`${dir}/${name}`, data); }
}
