// The example server's TCP framing and config reading.

import test from 'node:test';
import assert from 'node:assert/strict';
import { frameLength, readServerTable } from './serve.mjs';
import { unhex } from './testutil.mjs';

test('serve: frameLength frames as host/server/server.go does', () => {
  const cases = [
    // [name, request bytes (hex), the whole request's length, 0: header incomplete]
    ['16 bytes', '00'.repeat(16), 0],
    ['type 0, 31 bytes', '00'.repeat(31), 0],
    // Header: body length 0x0012 at bytes 22-23.
    ['type 0, header', '00'.repeat(22) + '0012' + '00'.repeat(8), 32 + 18],
    // Byte 16 is 4: 48-byte header, body length at bytes 17-18.
    ['type 4, 47 bytes', '00'.repeat(16) + '04' + '00'.repeat(30), 0],
    ['type 4, header', '00'.repeat(16) + '05' + '0100' + '00'.repeat(29), 48 + 256],
    // A body length of 0xffff in a 48-byte header is cut to RequestCap.
    ['type 4, cut', '00'.repeat(16) + '04' + 'ffff' + '00'.repeat(29), 32 + 65535],
  ];
  for (const [name, h, want] of cases) assert.equal(frameLength(Buffer.from(unhex(h))), want, name);
});

test('serve: readServerTable reads the [server] keys of config.toml', () => {
  const toml = `# comment
[server]
raida_id = 14          # this node's RAIDA id
coin_id = 6
listen = "0.0.0.0"     # address
request_timeout = "1s"
log_json = false
# metrics_listen = "127.0.0.1:9114"

[other]
port = 1
`;
  assert.deepEqual(readServerTable(toml), { raida_id: 14, coin_id: 6, listen: '0.0.0.0', request_timeout: '1s', log_json: false });
  assert.throws(() => readServerTable('[server]\nport = 1.5\n'), /line 2: not a key = integer, "string" or boolean/);
});
