// Every test vector through the kit: on the in-memory backend (as
// testvectors/node/replay.mjs runs them) and on the file backend over a
// data root made for the vector, whose files are then read back from disk.

import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { compile, load } from './raidakx.mjs';
import { FileBackend } from './file.mjs';
import { readVectors, runVector, vectorState, vectorRandom, hex, compareResponse, compareState } from './vectors.mjs';
import { WASM, VECTORS, readModule, toHex, pageFile, makeRoot, diskState } from './testutil.mjs';

const module = await compile(readModule(WASM));
const files = fs.readdirSync(VECTORS).filter((f) => f.endsWith('.json')).sort();

test('the vectors are there', () => assert.ok(files.length >= 10 && readVectors([VECTORS]).length >= 300));

for (const file of files) {
  test(`memory backend: every vector of ${file}`, async () => {
    const failures = [];
    for (const v of readVectors([path.join(VECTORS, file)])) {
      const problems = await runVector(module, v);
      if (problems.length) failures.push(`${v.name}: ${problems.join('; ')}`);
    }
    assert.deepEqual(failures, []);
  });
}

test('pageFile is the layout of RAIDA-FACTS.md', () => {
  assert.equal(pageFile('', 1, 1023000), path.join('Data', '01', '03', '03e7.bin'));
  assert.equal(pageFile('', -8, 5), path.join('Data', 'f8', '00', '0000.bin'));
});

for (const file of files) {
  test(`file backend: every vector of ${file}, state read back from disk`, async () => {
    const failures = [];
    for (const v of readVectors([path.join(VECTORS, file)])) {
      const { before, expect } = vectorState(v);
      const root = makeRoot(before);
      try {
        const req = hex('request_hex', v.request_hex), time = BigInt(v.time_unix) * 1000000000n;
        const backend = new FileBackend(root, { random: vectorRandom(hex('random_hex', v.random_hex)).random, now: () => time });
        const kit = await load(module, backend, { raidaId: v.config.raida_id, coinId: v.config.coin_id });
        const problems = [compareResponse(req, kit.handle(req), hex('response_hex', v.response_hex))].filter(Boolean);
        const after = diskState(root);
        const show = toHex;
        problems.push(...compareState('record', before.records, after.records, expect.records, new Uint8Array(17), show));
        problems.push(...compareState('file', before.files, after.files, expect.files, null, show));
        if (problems.length) failures.push(`${v.name}: ${problems.join('; ')}`);
      } finally {
        fs.rmSync(root, { recursive: true, force: true });
      }
    }
    assert.deepEqual(failures, []);
  });
}
