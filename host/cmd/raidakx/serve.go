package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"

	"github.com/raidakx/raidakx/host/config"
	"github.com/raidakx/raidakx/host/node"
	"github.com/raidakx/raidakx/host/storage"
)

func runServe(args []string) int {
	fs := newFlagSet("serve", "raidakx serve -config DIR/config.toml [flags]",
		"Serves data root DIR over TCP and UDP as its config.toml says, until SIGINT or SIGTERM.",
		"raidakx serve -config /srv/raida14/config.toml",
		"raidakx serve -config var/demo/config.toml -wasm build/keyexchange.wasm -log-json -debug -cpuprofile serve.pprof")
	cfgPath := fs.String("config", "", "the data root's config.toml (required); its folder is the data root")
	wasmPath := fs.String("wasm", defaultWasm(), "module file")
	logJSON := fs.Bool("log-json", false, "log JSON lines instead of text")
	debugLog := fs.Bool("debug", false, "log debug messages")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof)")
	pos, code, ok := fs.parse(args)
	if !ok {
		return code
	}
	if *cfgPath == "" || len(pos) > 0 {
		return fs.fail("want -config DIR/config.toml and no arguments")
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "raidakx serve:", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "raidakx serve:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	logger := newLogger(*logJSON, *debugLog)

	dataRoot := filepath.Dir(*cfgPath)
	cfg, err := config.Load(*cfgPath, dataRoot)
	if err != nil {
		logger.Error("cannot start", "err", err)
		return 1
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(int64(cfg.GoMemoryLimit))
	}
	ctx, sigs, release := catchSignals()
	defer release()
	n, err := node.Start(ctx, dataRoot, cfg, *wasmPath, logger)
	if corrupt := (*storage.JournalCorruptError)(nil); errors.As(err, &corrupt) {
		// Replay stopped before intact batches: acknowledged changes are
		// at stake, so the operator decides (raidakx journal).
		root := shellQuote(dataRoot)
		logger.Error("cannot start: the journal is corrupt before its last batch; replaying it would lose acknowledged changes",
			"journal", corrupt.Path, "offset", corrupt.Offset, "batch", corrupt.Seq, "intact_batches_after", corrupt.Later,
			"check", "raidakx journal check "+root,
			"then_truncate", "raidakx journal truncate "+root)
		return 1
	}
	if err != nil {
		logger.Error("cannot start", "err", err)
		return 1
	}
	return runUntilSignalled(sigs, logger, n.Shutdown, n.Abort, cfg.ShutdownTimeout.D())
}
