#!/usr/bin/env bash
# Memory of a local RAIDA under load, for BENCHMARKS.md (issue 12): net
# init and net serve of 25 nodes with the defaults net init writes, then
# one raidakx load per node at once for SECS seconds (2 clients each; 44
# on even RAIDA ids, 45 with 4 records on odd ones), sampling the serving
# process's VmRSS every second. Prints idle and peak RSS and the requests.
#
#   build/netrss.sh [SECS]
#
# Loopback only, bounded. Needs make build.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
port=$((20000 + RANDOM % 20000))
build/raidakx net init "$work/net" -port "$port" >/dev/null
build/raidakx net serve "$work/net" -metrics-listen 127.0.0.1:0 2>"$work/serve.log" &
pid=$!
for _ in $(seq 100); do [ "$(grep -c msg=serving "$work/serve.log")" = 25 ] && break; sleep 0.1; done
rss() { awk '/VmRSS/{print $2}' "/proc/$pid/status"; }
echo "idle VmRSS: $(($(rss) / 1024)) MiB"
for i in $(seq 0 24); do
	cmd=44; [ $((i % 2)) = 1 ] && cmd=45
	build/raidakx load -root "$work/net/raida$(printf %02d "$i")" -command $cmd -records 4 -clients 2 -duration "${secs}s" >"$work/load$i.txt" 2>&1 &
done
peak=0
for _ in $(seq "$((secs + 2))"); do r=$(rss); [ "$r" -gt "$peak" ] && peak=$r; sleep 1; done
wait $(jobs -p | grep -v "^$pid$") 2>/dev/null || true
echo "peak VmRSS under load: $((peak / 1024)) MiB"
cat "$work"/load*.txt | awk '/^requests/ {n += $2; e += $NF} END {print "requests " n ", errors " e}'
