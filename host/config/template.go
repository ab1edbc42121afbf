package config

import (
	"fmt"
	"strings"
)

// Template returns a commented config.toml for a new data root.
func Template(raidaID, coinID, port int) string {
	return strings.TrimLeft(fmt.Sprintf(`
# RAIDA node configuration. raidakx reads the [server] table: the node's own
# keys, shared with the C node, and raidakx's keys, which the node ignores.
[server]
raida_id = %d          # this node's RAIDA id, 0..24
coin_id = %d           # coin id every request must carry
port = %d              # TCP and UDP
threads = 0            # UDP receive goroutines (each waits with its request for the sync); 0: 64
backup_freq = 300      # seconds: the longest between checkpoints (page files synced, journal cut)

# raidakx
listen = "127.0.0.1"   # address to bind; "0.0.0.0" serves every interface
engine = "wazero"      # wazero, wazero-interp, wasmtime (cgo builds), native (NOT isolated)
instances = 0          # warm module instances; 0: one per CPU
request_timeout = "1s" # bounds each wait of a request: for an instance, in the module, for a page lock, for its sync (252)
memory_limit = "64MiB" # linear memory of one instance
cache_dir = ""          # compiled code, run outside the sandbox: only this user may write it; "": ~/.cache/raidakx; "off": none
open_files = 0         # page files kept open; 0: all 15,000 when RLIMIT_NOFILE allows
journal_max = "64MiB"  # journal size past which record writes fail (252) until a checkpoint succeeds
max_connections = 512  # open TCP connections; more are closed at once
max_connections_per_ip = 16 # TCP connections of one address (IPv6: one /64) still sending their request; more are closed at once
max_queue = 256        # requests waiting for an instance; more are answered 252; 0: none waits
read_timeout = "2s"    # to receive a whole TCP request, counted from its connection
io_timeout = "5s"      # to send a TCP answer once it is ready
shutdown_timeout = "30s" # the whole stop after SIGINT/SIGTERM; a second signal stops at once
go_memory_limit = "64MiB" # soft heap limit of the Go runtime (GOMEMLIMIT, if set, wins)
# metrics_listen = "127.0.0.1:9114"  # Prometheus /metrics; off when absent
`, raidaID, coinID, port), "\n")
}
