#!/usr/bin/env bash
# Side-by-side served load for BENCHMARKS.md (issue 10): one node per
# engine, all started at once on their own ports, and every load run
# interleaved across them, command by command, so that the shared
# machine's drift falls on every engine alike. 16 clients, SECS seconds
# per run, every answer checked by the load generator; requests/s, p50,
# p99, and the ratio to the node named "native".
#
#   build/sidebyside.sh [SECS] [NAME=BINARY:ENGINE ...]
#
# Default nodes: wazero, wasmtime and native, all build/raidakx. A BINARY
# other than build/raidakx puts another build in the same run (it uses the
# keyexchange.wasm beside it), e.g. the previous commit's native engine:
#
#   build/sidebyside.sh 10 wazero=build/raidakx:wazero native=build/raidakx:native base=/tmp/old/raidakx:native
#
# Loopback only; every run is bounded. Needs make build.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}; shift || true
nodes=("$@")
if [ ${#nodes[@]} -eq 0 ]; then
	nodes=(wazero=build/raidakx:wazero wasmtime=build/raidakx:wasmtime native=build/raidakx:native)
fi
loadgen=build/raidakx
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
base=$((20000 + RANDOM % 20000))

names=()
i=0
for spec in "${nodes[@]}"; do
	name=${spec%%=*} rest=${spec#*=}
	bin=${rest%:*} engine=${rest##*:}
	root=$work/$name
	"$bin" init -port $((base + i)) "$root" >/dev/null
	sed -i "s/^engine = .*/engine = \"$engine\"/; s|^cache_dir = .*|cache_dir = \"$work/cache-$name\"|" "$root/config.toml"
	"$bin" serve -config "$root/config.toml" >/dev/null 2>"$work/$name.log" &
	until $loadgen client -root "$root" -timeout 20ms echo >/dev/null 2>&1; do
		kill -0 $! 2>/dev/null || { cat "$work/$name.log"; exit 1; }
	done
	names+=("$name")
	i=$((i + 1))
done

echo "nodes: ${nodes[*]}; 16 clients, ${secs}s per run, $(date -u +%FT%TZ)"
printf '%-12s' load; for n in "${names[@]}"; do printf '  %-30s' "$n"; done; echo
for run in "udp 44 1" "udp echo 0" "udp echo 1" "udp 42 1" "udp 43 1" "udp 45 1" "tcp 44 1"; do
	read -r net cmd typ <<<"$run"
	declare -A rate=() p50=() p99=()
	for n in "${names[@]}"; do
		out=$($loadgen load -root "$work/$n" -net $net -command $cmd -type $typ -clients 16 -duration ${secs}s 2>&1) || true
		if grep -q '^first error' <<<"$out" || ! grep -q ' errors 0$' <<<"$out"; then
			echo "$n $run: $out" >&2
		fi
		rate[$n]=$(awk '/^requests / {sub("/s,", "", $5); print $5}' <<<"$out")
		p50[$n]=$(awk '/^latency / {print $3}' <<<"$out")
		p99[$n]=$(awk '/^latency / {print $5}' <<<"$out")
	done
	printf '%-12s' "$net $cmd t$typ"
	for n in "${names[@]}"; do
		r=${rate[$n]:-0} nat=${rate[native]:-0}
		ratio=$(awk -v a="$r" -v b="$nat" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else printf "-" }')
		printf '  %-30s' "${r}/s ${p50[$n]}/${p99[$n]} $ratio"
	done
	echo
	unset rate p50 p99
done
