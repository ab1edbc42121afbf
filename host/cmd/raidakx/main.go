// Command raidakx runs the RAIDA key-exchange module in a sandbox: it
// serves a node's data root, creates one, talks to a node as a client,
// checks and repairs a data root's journal and replays test vectors.
//
//	raidakx serve -config DIR/config.toml [-cpuprofile FILE]
//	raidakx init [-full] DIR
//	raidakx client [-root DIR] [-net udp|tcp] [-type 0|1] COMMAND [ARGS]
//	raidakx load -root DIR [-net udp|tcp] [-clients N] [-duration D] [-command C] [-spread]
//	raidakx journal check|truncate DIR
//	raidakx replay [-engine NAME] [-wasm PATH] FILE_OR_DIR...
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

type subcommand struct {
	name, usage string
	run         func(args []string) int
}

var subcommands = []subcommand{
	{"serve", "serve a data root over TCP and UDP", runServe},
	{"init", "create a new data root with a demo coin", runInit},
	{"client", "send one request to a node and print the answer", runClient},
	{"load", "drive a local node with concurrent clients and report", runLoad},
	{"journal", "check a data root's journal, or cut a corrupt one", runJournal},
	{"replay", "replay test vectors against the module", runReplay},
}

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	i := slices.IndexFunc(subcommands, func(s subcommand) bool { return s.name == os.Args[1] })
	if i < 0 {
		fmt.Fprintf(os.Stderr, "raidakx: unknown command %q\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	os.Exit(subcommands[i].run(os.Args[2:]))
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: raidakx COMMAND [flags]\n\ncommands:")
	for _, s := range subcommands {
		fmt.Fprintf(os.Stderr, "  %-8s %s\n", s.name, s.usage)
	}
}

// defaultWasm is the module beside the executable (make build puts both in
// build/), else build/keyexchange.wasm under the current directory.
func defaultWasm() string {
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), "keyexchange.wasm")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return filepath.Join("build", "keyexchange.wasm")
}
