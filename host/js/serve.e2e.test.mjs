// serve.mjs end to end: a data root made by the Go CLI (raidakx init),
// served by `node host/js/serve.mjs`, asked by the Go client (raidakx
// client) over UDP and TCP, then stopped with SIGTERM and read from disk.
// Needs build/raidakx (make build.host); skipped, saying so, without it.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WASM } from './testutil.mjs';

const RAIDAKX = fileURLToPath(new URL('../../build/raidakx', import.meta.url));
const SERVE = fileURLToPath(new URL('./serve.mjs', import.meta.url));
// WAIT bounds every wait (server start and stop, each client run): a
// guard against a hang, not a timed assertion.
const WAIT = 15000;
const RECORD = 17;

// freePort returns a port that a UDP and a TCP socket on 127.0.0.1 could
// both bind a moment ago (serve.mjs takes both).
async function freePort() {
  for (let tries = 0; tries < 20; tries++) {
    const tcp = net.createServer();
    await new Promise((ok, fail) => { tcp.once('error', fail); tcp.listen(0, '127.0.0.1', ok); });
    const { port } = tcp.address();
    const udp = dgram.createSocket('udp4');
    const free = await new Promise((ok) => { udp.once('error', () => ok(false)); udp.bind(port, '127.0.0.1', () => ok(true)); });
    udp.close();
    await new Promise((ok) => tcp.close(ok));
    if (free) return port;
  }
  throw new Error('no port free for both UDP and TCP on 127.0.0.1 in 20 tries');
}

// bounded rejects after WAIT ms with what, unless p settles first.
function bounded(p, what) {
  let timer;
  const guard = new Promise((_, fail) => { timer = setTimeout(() => fail(new Error(`${what}: no result in ${WAIT} ms`)), WAIT); });
  return Promise.race([p, guard]).finally(() => clearTimeout(timer));
}

// run runs build/raidakx with args and returns its exit code and output.
function run(args) {
  const child = spawn(RAIDAKX, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '', stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const done = new Promise((ok, fail) => {
    child.once('error', fail);
    child.once('close', (code, signal) => ok({ code, signal, stdout, stderr }));
  });
  return bounded(done, `raidakx ${args.join(' ')}`).catch((err) => { child.kill('SIGKILL'); throw err; });
}

// client runs `raidakx client -root root ARGS`, asserts it exits 0 and
// returns its output.
async function client(root, ...args) {
  const r = await run(['client', '-root', root, ...args]);
  assert.equal(r.code, 0, `raidakx client ${args.join(' ')} exited ${r.code ?? r.signal}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

// readRecord reads record (den 1, sn) of page 0 from Data/01/00/0000.bin.
const readRecord = (root, sn) =>
  fs.readFileSync(path.join(root, 'Data', '01', '00', '0000.bin')).subarray(sn * RECORD, (sn + 1) * RECORD);

const skip = fs.existsSync(RAIDAKX) ? false : `${RAIDAKX} is missing: run make build.host`;

describe('serve.mjs end to end with the Go client', { skip }, () => {
  let tmp, root, server, exited, serverLog = '', record12;

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'raidakx-serve-e2e-'));
    root = path.join(tmp, 'root');
    const port = await freePort();
    const init = await run(['init', '-port', String(port), root]);
    assert.equal(init.code, 0, `raidakx init: ${init.stdout}${init.stderr}`);
    record12 = Buffer.from(readRecord(root, 2));

    server = spawn(process.execPath, [SERVE, '-config', path.join(root, 'config.toml'), '-wasm', WASM], { stdio: ['ignore', 'ignore', 'pipe'] });
    exited = new Promise((ok) => server.once('exit', (code, signal) => ok({ code, signal })));
    // serve.mjs logs "info serving ..." to stderr once both sockets are bound.
    const ready = new Promise((ok, fail) => {
      server.stderr.on('data', (d) => {
        serverLog += d;
        if (/ info serving /.test(serverLog)) ok();
      });
      server.once('error', fail);
      exited.then(({ code, signal }) => fail(new Error(`serve.mjs exited ${code ?? signal} before serving:\n${serverLog}`)));
    });
    await bounded(ready, 'serve.mjs start');
  });

  after(async () => {
    if (server && server.exitCode === null && server.signalCode === null) {
      server.kill('SIGKILL');
      await bounded(exited, 'serve.mjs kill');
    }
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('echo over UDP: 250', async () => {
    assert.match(await client(root, 'echo'), /^echo over udp, type 0: status 250 STATUS_SUCCESS$/m);
  });

  test('echo over TCP: 250', async () => {
    assert.match(await client(root, '-transport', 'tcp', 'echo'), /^echo over tcp, type 0: status 250 STATUS_SUCCESS$/m);
  });

  test('44 type 1 for coin 1.1: status 0 and a 16-byte payload', async () => {
    const out = await client(root, '-type', '1', 'encrypt', '1', '1');
    assert.match(out, /^44 encrypt key over udp, type 1: status 0 NO_ERROR\npayload \(16 bytes\): [0-9a-f]{32}$/m);
  });

  let newHalf;
  test('44 then 45 type 4 for coin 1.2: accepted (01)', async () => {
    const out = await client(root, '-type', '4', 'decrypt', '1', '2');
    assert.match(out, /^44 encrypt key over udp, type 4: status 0 NO_ERROR$/m);
    assert.match(out, /^45 decrypt raida key over udp, type 4: status 250 STATUS_SUCCESS\npayload \(1 bytes\): 01$/m);
    newHalf = /^new key half 0: ([0-9a-f]{16})$/m.exec(out)?.[1];
    assert.ok(newHalf, `no "new key half 0" line in:\n${out}`);
  });

  test('the same again: rejected (00), the coin file no longer matches', async () => {
    const out = await client(root, '-type', '4', 'decrypt', '1', '2');
    assert.match(out, /^45 decrypt raida key over udp, type 4: status 250 STATUS_SUCCESS\npayload \(1 bytes\): 00$/m);
  });

  test('SIGTERM stops it; coin 1.2 holds the new key half on disk', async () => {
    server.kill('SIGTERM');
    const { code, signal } = await bounded(exited, 'serve.mjs stop after SIGTERM');
    assert.equal(code, 0, `serve.mjs exited ${code ?? signal}:\n${serverLog}`);
    const now = readRecord(root, 2);
    assert.ok(newHalf, 'the accepted 45 gave no new key half');
    // AN bytes 0-7 (half 0) are the first 45's key; bytes 8-15 are kept.
    assert.equal(now.subarray(0, 8).toString('hex'), newHalf);
    assert.notEqual(record12.subarray(0, 8).toString('hex'), newHalf);
    assert.deepEqual(now.subarray(8, 16), record12.subarray(8, 16));
  });
});
