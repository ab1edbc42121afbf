package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/raidakx/raidakx/host/config"
	"github.com/raidakx/raidakx/host/node"
	"github.com/raidakx/raidakx/host/storage"
)

func runServe(args []string) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "the data root's config.toml (required); its folder is the data root")
	wasmPath := fs.String("wasm", defaultWasm(), "module file")
	logJSON := fs.Bool("log-json", false, "log JSON lines instead of text")
	debugLog := fs.Bool("debug", false, "log debug messages")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *cfgPath == "" || fs.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: raidakx serve -config DIR/config.toml [-wasm PATH] [-log-json] [-debug] [-cpuprofile FILE]")
		return 2
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
	level := slog.LevelInfo
	if *debugLog {
		level = slog.LevelDebug
	}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})
	if *logJSON {
		h = slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level})
	}
	logger := slog.New(h)

	dataRoot := filepath.Dir(*cfgPath)
	cfg, err := config.Load(*cfgPath, dataRoot)
	if err != nil {
		logger.Error("cannot start", "err", err)
		return 1
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(int64(cfg.GoMemoryLimit))
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
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
	<-ctx.Done()
	logger.Info("stopping: finishing requests in flight")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.Shutdown(sctx); err != nil {
		logger.Error("shutdown", "err", err)
		return 1
	}
	logger.Info("stopped")
	return 0
}
