#!/usr/bin/env bash
# Server benchmarks for BENCHMARKS.md: start-up time (compilation cache
# cold and warm), throughput and latency of every command over UDP and TCP
# with the chosen engines, and RSS. Loopback only; every run is bounded.
#
#   build/loadbench.sh [SECONDS] [ENGINES...]     (default: 10 wazero native)
#   SPREAD_SECS=120 build/loadbench.sh ...        (length of the spread RSS run)
#
# Then, per engine, on a full-size data root (every page file of the 15
# denominations, sparse, about 250 MB of $TMPDIR) the warm start time, UDP
# 44 and 45 spread over every page against the same load on one page (44:
# recipient coin 1.1; 45: records of den 2, page 0), with ratio lines
# spread/one, and the largest RSS
# sampled every 10 s during a spread 45 run of SPREAD_SECS seconds:
#
#   raidakx init -full -port P DIR
#   raidakx load -root DIR -net udp -command 44 -type 1 -clients 16 -duration Ds [-spread]
#   raidakx load -root DIR -net udp -command 45 -type 1 -clients 16 -duration Ds [-spread]
#
# 44 -spread runs before the one-page 45, which writes page 2.0 and can
# change the AN of the spread coins on it that 44 -spread checks against.
#
# Needs build/raidakx and build/keyexchange.wasm (make build).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}; shift || true
engines=${*:-wazero native}
spread_secs=${SPREAD_SECS:-120}
if ! [[ $spread_secs =~ ^[0-9]+$ ]] || ((spread_secs < 10 || spread_secs > 600)); then
	echo "SPREAD_SECS must be 10..600 seconds" >&2
	exit 2
fi
bin=build/raidakx
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
port=$((20000 + RANDOM % 20000))

rss() { awk '/VmRSS/ {print $2 " KiB"}' /proc/$1/status; }

# start ENGINE [INIT_FLAGS...]: serve a fresh data root made by init with
# INIT_FLAGS; sets pid and startup_ms (from exec to the first answered
# request).
start() {
	local e=$1; shift
	rm -rf "$work/root"
	$bin init -port $port "$@" "$work/root" >/dev/null
	sed -i "s/^engine = .*/engine = \"$e\"/; s|^cache_dir = .*|cache_dir = \"$work/cache-$e\"|" "$work/root/config.toml"
	local t0=$(date +%s%N)
	$bin serve -config "$work/root/config.toml" >/dev/null 2>"$work/serve-$e.log" &
	pid=$!
	until $bin client -root "$work/root" -timeout 20ms echo >/dev/null 2>&1; do :; done
	startup_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
}

stop() { kill -INT $pid; wait $pid; }

# load ARGS...: one load run on the root, printed; sets rate (requests/s)
# and p99 (ms) from its report, empty if it did not run.
load() {
	local out
	out=$($bin load -root "$work/root" "$@" 2>&1) || true
	echo "$out"
	rate=$(awk '/^requests / {sub("/s,", "", $5); print $5}' <<<"$out")
	p99=$(awk '/^latency / {print ms($5)}
		function ms(d) {
			if (d ~ /ns$/) return d / 1e6
			if (d ~ /(µs|us)$/) return d / 1e3
			if (d ~ /ms$/) return d + 0
			if (d ~ /s$/) return d * 1e3
			return ""
		}' <<<"$out")
}

# ratio WHAT SPREAD ONE: print spread/one of two numbers.
ratio() {
	awk -v what="$1" -v s="$2" -v p="$3" 'BEGIN {
		if (s != "" && p > 0) printf "ratio spread/one %s: %.2f\n", what, s / p
		else printf "ratio spread/one %s: n/a\n", what
	}'
}

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

	echo "== engine $e, full-size root (init -full)"
	start $e -full; echo "start to first answer on a full root, cache warm: $startup_ms ms, RSS $(rss $pid)"
	# Warm-up, not reported: a node that has served a while has its page
	# files open (the first Lock of each page opens its file).
	$bin load -root "$work/root" -net udp -command 44 -spread -type 1 -clients 16 -duration 5s >/dev/null 2>&1 || true
	for cmd in 44 45; do
		echo "-- udp $cmd -spread type 1, 16 clients, ${secs}s"
		load -net udp -command $cmd -spread -type 1 -clients 16 -duration ${secs}s
		spread_rate=$rate spread_p99=$p99
		echo "-- udp $cmd type 1, 16 clients, ${secs}s"
		load -net udp -command $cmd -type 1 -clients 16 -duration ${secs}s
		ratio "$cmd requests/s" "$spread_rate" "$rate"
		ratio "$cmd p99" "$spread_p99" "$p99"
	done
	echo "-- udp 45 -spread type 1, 16 clients, ${spread_secs}s, RSS every 10 s"
	$bin load -root "$work/root" -net udp -command 45 -spread -type 1 -clients 16 -duration ${spread_secs}s >"$work/spread45.out" 2>&1 &
	lpid=$! max=0
	for ((t = 10; t <= spread_secs; t += 10)); do
		sleep 10
		kill -0 $lpid 2>/dev/null || break
		kib=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
		echo "RSS at ${t}s: $kib KiB"
		if ((kib > max)); then max=$kib; fi
	done
	wait $lpid || true
	cat "$work/spread45.out"
	echo "max RSS during spread 45: $max KiB"
	stop
done
