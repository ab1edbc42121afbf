// replay.mjs: replays raidakx test vectors against keyexchange.wasm in
// Node.js, through the dependency-free JavaScript kit of host/js (which
// runs each vector on its in-memory backend and compares the answer and
// the state: host/js/vectors.mjs).
//
//   node testvectors/node/replay.mjs [-v] [-wasm PATH] FILE_OR_DIR...
//
// PATH defaults to build/keyexchange.wasm. A folder means its *.json files
// (not recursive) in name order. Prints "FAIL name: reason" per failing
// vector, then "N passed, M failed"; exits 1 on any failure, 2 on usage
// errors. -v also prints "ok name" per passing vector, and the module's and
// the kit's log (faults included) to stderr.

import fs from 'node:fs';
import { compile } from '../../host/js/raidakx.mjs';
import { readVectors, runVector } from '../../host/js/vectors.mjs';

const LEVELS = ['debug', 'info', 'warn', 'error'];

async function main(argv) {
  let wasmPath = 'build/keyexchange.wasm', verbose = false;
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
  const vectors = readVectors(paths);
  const module = await compile(fs.readFileSync(wasmPath));
  const log = verbose ? (level, msg) => console.error(`  ${LEVELS[level + 1]}: ${msg}`) : undefined;

  let passed = 0, failed = 0;
  for (const v of vectors) {
    let problems;
    try {
      problems = await runVector(module, v, log);
    } catch (err) {
      problems = [err.message];
    }
    if (problems.length === 0) {
      passed++;
      if (verbose) console.log(`ok   ${v.name}`);
    } else {
      failed++;
      console.log(`FAIL ${v.name}: ${problems.join('\n').replaceAll('\n', '\n    ')}`);
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
