#!/usr/bin/env bash
# TCP under slow clients, for BENCHMARKS.md (issue 14): an honest client's
# TCP 44 (raidakx load, 4 clients from 127.0.0.1) alone, then while
# SLOW connections from 127.0.0.3 each send one byte of a header and
# nothing more, reopened 100 ms after the server closes them (a slow-loris
# client that outnumbers max_connections). Prints both load reports.
#
#   build/slowclients.sh [SLOW] [SECS] [BINARY]
#
# BINARY (default build/raidakx) may be another build, e.g. an older one,
# with its keyexchange.wasm beside it; builds before issue 12 call the
# load transport flag -net, which is detected. Loopback only, bounded.
set -euo pipefail
cd "$(dirname "$0")/.."
slow=${1:-600}; secs=${2:-5}; bin=${3:-build/raidakx}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
port=$((20000 + RANDOM % 20000))
"$bin" init -port "$port" "$work/root" >/dev/null
"$bin" serve -wasm "$(dirname "$bin")/keyexchange.wasm" -config "$work/root/config.toml" 2>"$work/serve.log" &
for _ in $(seq 50); do grep -q serving "$work/serve.log" && break; sleep 0.1; done
transport=-transport
"$bin" load -h 2>&1 | grep -q -- -transport || transport=-net
run() { "$bin" load -root "$work/root" $transport tcp -command 44 -clients 4 -duration "${secs}s" 2>&1 | sed 's/^/  /'; }
echo "alone:"
run
echo "with $slow slow connections from 127.0.0.3:"
python3 - "$port" "$slow" "$((secs + 3))" <<'PY' &
import selectors, socket, sys, time
port, n, secs = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
sel, pending, opened, closed = selectors.DefaultSelector(), [], 0, 0
def open_one():
    global opened
    s = socket.socket(); s.setblocking(False); s.bind(("127.0.0.3", 0))
    try: s.connect(("127.0.0.1", port))
    except BlockingIOError: pass
    sel.register(s, selectors.EVENT_WRITE, None); opened += 1
for _ in range(n): open_one()
end = time.time() + secs
while time.time() < end:
    while pending and pending[0] <= time.time():
        pending.pop(0); open_one()
    for key, ev in sel.select(0.05):
        s = key.fileobj
        if ev & selectors.EVENT_WRITE:
            try: s.send(b"\x01")  # one byte of a header, then nothing
            except OSError: pass
            sel.modify(s, selectors.EVENT_READ)
        else:
            try: d = s.recv(64)
            except OSError: d = b""
            if not d:
                sel.unregister(s); s.close(); closed += 1; pending.append(time.time() + 0.1)
print(f"  slow client: {opened} connections opened, {closed} closed by the server")
PY
sleep 2
run
wait %2 2>/dev/null || true
