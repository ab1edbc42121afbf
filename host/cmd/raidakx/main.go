// Command raidakx runs the RAIDA key-exchange module in a sandbox: it
// serves a node's data root, creates one, talks to a node as a client,
// checks and repairs a data root's journal, replays test vectors, and
// runs a local RAIDA of up to 25 nodes for client development.
//
//	raidakx serve -config DIR/config.toml [-cpuprofile FILE]
//	raidakx init DIR [-raida-id N] [-full]
//	raidakx client [-root DIR] [-transport udp|tcp] [-type 0|1|4|5] COMMAND [ARGS]
//	raidakx client -net DIR echo | exchange -to T -via A,B DEN SN
//	raidakx load -root DIR [-transport udp|tcp] [-clients N] [-duration D] [-command C] [-spread]
//	raidakx journal check|truncate DIR
//	raidakx replay [-engine NAME] [-wasm PATH] FILE_OR_DIR...
//	raidakx net init|serve DIR
//	raidakx version | help [COMMAND]
//
// Every subcommand takes its flags before or after its arguments, and
// -h prints its flags with examples.
package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
)

type subcommand struct {
	name, usage string
	run         func(args []string) int
}

var subcommands []subcommand

func init() { // in init: runHelp refers to subcommands
	subcommands = []subcommand{
		{"serve", "serve a data root over TCP and UDP", runServe},
		{"init", "create a new data root with two demo coins", runInit},
		{"client", "send a request to a node, or run echo and the key exchange on a local RAIDA", runClient},
		{"load", "drive a local node with concurrent clients and report", runLoad},
		{"journal", "check a data root's journal, or cut a corrupt one", runJournal},
		{"replay", "replay test vectors against the module", runReplay},
		{"net", "create or serve a local RAIDA of up to 25 nodes", runNet},
		{"version", "print the module's ABI version and SHA-256 and the Go, wazero and wasmtime versions", runVersion},
		{"help", "print this help, or a command's (the same as raidakx COMMAND -h)", runHelp},
	}
}

func main() {
	if len(os.Args) < 2 {
		usage(os.Stderr)
		os.Exit(2)
	}
	switch os.Args[1] {
	case "-h", "-help", "--help":
		usage(os.Stdout)
		os.Exit(0)
	}
	s, ok := lookup(os.Args[1])
	if !ok {
		fmt.Fprintf(os.Stderr, "raidakx: unknown command %q\n", os.Args[1])
		usage(os.Stderr)
		os.Exit(2)
	}
	os.Exit(s.run(os.Args[2:]))
}

func lookup(name string) (subcommand, bool) {
	i := slices.IndexFunc(subcommands, func(s subcommand) bool { return s.name == name })
	if i < 0 {
		return subcommand{}, false
	}
	return subcommands[i], true
}

// runHelp prints the usage (no argument) or runs COMMAND -h.
func runHelp(args []string) int {
	switch len(args) {
	case 0:
		usage(os.Stdout)
		return 0
	case 1:
		if s, ok := lookup(args[0]); ok && s.name != "help" {
			return s.run([]string{"-h"})
		}
		if args[0] == "help" {
			usage(os.Stdout)
			return 0
		}
		fmt.Fprintf(os.Stderr, "raidakx help: unknown command %q\n", args[0])
	}
	usage(os.Stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: raidakx COMMAND [flags] [ARGS]\n\ncommands:")
	for _, s := range subcommands {
		fmt.Fprintf(w, "  %-8s %s\n", s.name, s.usage)
	}
	fmt.Fprintln(w, "\nFlags may come before or after the arguments. raidakx help COMMAND, or\nraidakx COMMAND -h, lists a command's flags with examples.")
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
