// serve.mjs: an EXAMPLE of embedding the kit in a server: a data root
// served over UDP and TCP with the file backend. It is not a production
// node: one thread answers every request in turn (a slow disk stalls
// them all), a module that loops without calling an import hangs it for
// good (JavaScript cannot interrupt WebAssembly: raidakx.mjs), and it has
// none of raidakx serve's queue limits, metrics, group commit or journal.
// Serve a node with `raidakx serve`.
//
//   node host/js/serve.mjs -config DIR/config.toml [-wasm PATH]
//
// DIR is the data root (made by `raidakx init DIR`). Of config.toml it
// reads the [server] keys raida_id, coin_id, port, listen (127.0.0.1),
// request_timeout (1s), io_timeout (5s) and max_connections (512); PATH
// defaults to build/keyexchange.wasm of this repository. TCP takes one
// request per connection, framed as raidakx serve frames it
// (host/server/server.go): the 32-byte header, or 17 bytes then the
// 48-byte header when byte 16 is 4 or 5, then the body length the header
// gives; it answers a request cut short when the client half-closes.

import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { load, REQUEST_CAP } from './raidakx.mjs';
import { FileBackend } from './file.mjs';

const LEVELS = ['debug', 'info', 'warn', 'error'];

// readServerTable returns the integer, string and boolean keys of the
// [server] table of config.toml: the little TOML this example needs, not
// a TOML parser.
export function readServerTable(text) {
  const out = {};
  let table = '';
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const header = /^\[([^\]]+)\]\s*(#.*)?$/.exec(line);
    if (header) { table = header[1].trim(); continue; }
    if (table !== 'server') continue;
    const kv = /^([A-Za-z0-9_]+)\s*=\s*(?:"([^"\\]*)"|([-+]?\d+)|(true|false))\s*(#.*)?$/.exec(line);
    if (!kv) throw new Error(`config.toml line ${i + 1}: not a key = integer, "string" or boolean: ${raw}`);
    out[kv[1]] = kv[2] ?? (kv[3] !== undefined ? Number(kv[3]) : kv[4] === 'true');
  }
  return out;
}

// millis returns a Go duration of config.toml ("1s", "500ms", "2m") in ms.
function millis(key, s) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(s);
  if (!m) throw new Error(`config.toml: ${key} = "${s}": want a duration such as "1s" or "500ms"`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60000 }[m[2]];
}

// frameLength returns how many bytes the request starting with buf has,
// or 0 while its header is incomplete.
export function frameLength(buf) {
  if (buf.length < 17) return 0;
  if (buf[16] === 4 || buf[16] === 5) return buf.length < 48 ? 0 : Math.min(48 + buf.readUInt16BE(17), REQUEST_CAP);
  return buf.length < 32 ? 0 : Math.min(32 + buf.readUInt16BE(22), REQUEST_CAP);
}

// answerable reports whether a connection that ended after buf gets an
// answer: 17 bytes of a type-4/5 request, or a whole 32-byte header.
const answerable = (buf) => buf.length >= (buf.length >= 17 && (buf[16] === 4 || buf[16] === 5) ? 17 : 32);

async function main(argv) {
  let configPath = '', wasmPath = fileURLToPath(new URL('../../build/keyexchange.wasm', import.meta.url));
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '-config' && i + 1 < argv.length) configPath = argv[++i];
    else if (argv[i] === '-wasm' && i + 1 < argv.length) wasmPath = argv[++i];
    else configPath = '';
  }
  if (!configPath) {
    console.error('usage: node host/js/serve.mjs -config DIR/config.toml [-wasm PATH]');
    return 2;
  }
  const cfg = readServerTable(fs.readFileSync(configPath, 'utf8'));
  for (const key of ['raida_id', 'coin_id', 'port']) {
    if (!Number.isInteger(cfg[key])) throw new Error(`${configPath}: [server] ${key} missing or not an integer`);
  }
  const root = path.dirname(configPath), listen = cfg.listen ?? '127.0.0.1';
  const ioTimeout = millis('io_timeout', cfg.io_timeout ?? '5s');
  const log = (level, msg) => console.error(`${new Date().toISOString()} ${LEVELS[level + 1]} ${msg}`);
  const backend = new FileBackend(root, { log });
  const kit = await load(fs.readFileSync(wasmPath), backend, {
    raidaId: cfg.raida_id, coinId: cfg.coin_id, requestTimeoutMs: millis('request_timeout', cfg.request_timeout ?? '1s'),
  });

  const udp = dgram.createSocket(listen.includes(':') ? 'udp6' : 'udp4');
  udp.on('message', (msg, from) => {
    const resp = kit.handle(msg);
    if (resp.length) udp.send(resp, from.port, from.address);
  });
  udp.on('error', (err) => log(2, `udp: ${err.message}`));

  const tcp = net.createServer({ allowHalfOpen: true }, (c) => {
    let buf = Buffer.alloc(0), done = false;
    const answer = (req) => {
      done = true;
      const resp = kit.handle(req);
      if (resp.length) c.end(resp); else c.end();
    };
    c.setTimeout(ioTimeout, () => c.destroy());
    c.on('error', () => c.destroy());
    c.on('data', (chunk) => {
      if (done) return;
      buf = Buffer.concat([buf, chunk]);
      const need = frameLength(buf);
      if (need && buf.length >= need) answer(buf.subarray(0, need));
    });
    c.on('end', () => {
      if (!done && answerable(buf)) answer(buf);
      else if (!done) c.end();
    });
  });
  tcp.maxConnections = cfg.max_connections ?? 512;

  await Promise.all([
    new Promise((ok, fail) => { udp.once('error', fail); udp.bind(cfg.port, listen, ok); }),
    new Promise((ok, fail) => { tcp.once('error', fail); tcp.listen(cfg.port, listen, ok); }),
  ]);
  log(0, `serving ${root} as RAIDA ${cfg.raida_id} (coin ${cfg.coin_id}) on ${listen}:${cfg.port}, udp and tcp; an example, not a production node`);
  const stop = () => {
    log(0, 'stopping');
    udp.close();
    tcp.close();
    kit.close();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main(process.argv.slice(2)).then((code) => { if (code) process.exitCode = code; }, (err) => {
    console.error(`serve: ${err.message}`);
    process.exitCode = 1;
  });
}
