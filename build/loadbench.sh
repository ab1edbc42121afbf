#!/usr/bin/env bash
# Server benchmarks for BENCHMARKS.md: start-up time (compilation cache
# cold and warm), throughput and latency of every command over UDP and TCP
# with the chosen engines, and RSS. Loopback only; every run is bounded.
#
#   build/loadbench.sh [SECONDS] [ENGINES...]     (default: 10 wazero native)
#
# Needs build/raidakx and build/keyexchange.wasm (make build).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}; shift || true
engines=${*:-wazero native}
bin=build/raidakx
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
port=$((20000 + RANDOM % 20000))

rss() { awk '/VmRSS/ {print $2 " KiB"}' /proc/$1/status; }

# start ENGINE: serve a fresh data root; sets pid and startup_ms (from
# exec to the first answered request).
start() {
	rm -rf "$work/root"
	$bin init -port $port "$work/root" >/dev/null
	sed -i "s/^engine = .*/engine = \"$1\"/; s|^cache_dir = .*|cache_dir = \"$work/cache-$1\"|" "$work/root/config.toml"
	local t0=$(date +%s%N)
	$bin serve -config "$work/root/config.toml" >/dev/null 2>"$work/serve-$1.log" &
	pid=$!
	until $bin client -root "$work/root" -timeout 20ms echo >/dev/null 2>&1; do :; done
	startup_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
}

stop() { kill -INT $pid; wait $pid; }

for e in $engines; do
	echo "== engine $e"
	rm -rf "$work/cache-$e"
	start $e; echo "start to first answer, cache cold: $startup_ms ms"; stop
	start $e; echo "start to first answer, cache warm: $startup_ms ms, RSS $(rss $pid)"
	for net in udp tcp; do
		for cmd in 44 echo 42 43 41 45; do
			echo "-- $net $cmd type 1, 16 clients, ${secs}s"
			$bin load -root "$work/root" -net $net -command $cmd -type 1 -clients 16 -duration ${secs}s || true
		done
	done
	echo "-- tcp 45 with 2519 records (too big for a datagram), 1 client, 50 requests"
	$bin load -root "$work/root" -net tcp -command 45 -records 2519 -clients 1 -requests 50 || true
	echo "-- udp 45 single record, 64 clients, ${secs}s"
	$bin load -root "$work/root" -net udp -command 45 -clients 64 -duration ${secs}s || true
	echo "RSS after load: $(rss $pid)"
	stop
done
