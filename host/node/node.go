// Package node assembles a serving RAIDA key-exchange node from a data
// root: the page store and key files, the module under the configured
// engine, the instance pool, the TCP/UDP server and the metrics endpoint.
package node

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/raidakx/raidakx/host/config"
	"github.com/raidakx/raidakx/host/engine"
	"github.com/raidakx/raidakx/host/engines"
	"github.com/raidakx/raidakx/host/imports"
	"github.com/raidakx/raidakx/host/metrics"
	"github.com/raidakx/raidakx/host/pool"
	"github.com/raidakx/raidakx/host/server"
	"github.com/raidakx/raidakx/host/storage"
)

// Node is a running node.
type Node struct {
	pages   *storage.PageStore
	files   *storage.RootFiles
	mod     engine.Module
	pool    *pool.Pool
	srv     *server.Server
	metrics *http.Server
	logger  *slog.Logger
}

// Start opens the data root and serves it as cfg says, running the module
// file at wasmPath.
func Start(ctx context.Context, dataRoot string, cfg *config.Config, wasmPath string, logger *slog.Logger) (*Node, error) {
	return start(ctx, dataRoot, cfg, wasmPath, Shared{}, logger)
}

// Shared holds what several nodes in one process share (raidakx net
// serve): one compiled module instead of one per node, and one metrics
// endpoint.
type Shared struct {
	// Module is a module the caller compiled (engines.Load) and closes
	// after every node that uses it: the node never closes it, and cfg's
	// engine, memory_limit and cache_dir are not read.
	Module engine.Module
	// Metrics, when set, receives the node's metrics labelled with its
	// raida_id, and cfg's metrics_listen is not read.
	Metrics *metrics.Registry
}

// StartShared is Start with the module and the metrics of sh, so that the
// nodes of one process compile the module once, keep one copy of its
// machine code, and expose one /metrics.
func StartShared(ctx context.Context, dataRoot string, cfg *config.Config, sh Shared, logger *slog.Logger) (*Node, error) {
	if sh.Module == nil {
		return nil, errors.New("node: StartShared needs a module")
	}
	return start(ctx, dataRoot, cfg, "", sh, logger)
}

// sharedModule is a module some other owner closes.
type sharedModule struct{ engine.Module }

func (sharedModule) Close() error { return nil }

func start(ctx context.Context, dataRoot string, cfg *config.Config, wasmPath string, sh Shared, logger *slog.Logger) (_ *Node, err error) {
	n := &Node{logger: logger}
	defer func() {
		if err != nil {
			n.close()
		}
	}()
	if cfg.Engine == "native" {
		logger.Warn("engine native: requests are NOT isolated from the host process; use it only to compare")
	}
	if n.pages, err = storage.OpenPageStore(dataRoot, storage.PageStoreOptions{
		LockTimeout:     cfg.RequestTimeout.D(),
		OpenFiles:       cfg.OpenFiles,
		CheckpointEvery: cfg.BackupFreq.D(),
		JournalMax:      int64(cfg.JournalMax),
		Logger:          logger,
	}); err != nil {
		return nil, err
	}
	if n.files, err = storage.OpenRootFiles(dataRoot); err != nil {
		return nil, err
	}
	start := time.Now()
	if sh.Module != nil {
		n.mod = sharedModule{sh.Module}
	} else if n.mod, err = engines.Load(ctx, cfg.Engine, wasmPath, engine.Options{
		MemoryLimit: uint64(cfg.MemoryLimit), CacheDir: cfg.CacheDir,
	}, logger); err != nil {
		return nil, err
	}
	compiled := time.Since(start)
	if n.pool, err = pool.New(n.mod, pool.Options{
		Size:           cfg.Instances,
		MaxQueue:       cfg.MaxQueue,
		RequestTimeout: cfg.RequestTimeout.D(),
		Node:           cfg.Node(),
		Backend: &imports.Backend{
			Records: n.pages,
			Files:   n.files,
			Random:  rand.Reader,
			Clock:   time.Now,
			Logger:  logger,
			Commit:  n.pages.Commit,
		},
		Logger: logger,
	}); err != nil {
		return nil, err
	}
	logger.Info("module ready", "engine", cfg.Engine, "compile", compiled, "instances", cfg.Instances, "instantiate", time.Since(start)-compiled)
	var observer server.Observer
	if sh.Metrics != nil {
		observer = sh.Metrics.Node(cfg.RaidaID, n.pool.Stats, n.pages.Stats)
	} else if cfg.MetricsListen != "" {
		m := metrics.New(n.pool.Stats, n.pages.Stats)
		var addr string
		if n.metrics, addr, err = metrics.Listen(cfg.MetricsListen, m.Handler()); err != nil {
			return nil, err
		}
		observer = m
		logger.Info("metrics", "addr", addr)
	}
	if n.srv, err = server.Start(server.Options{
		Listen:              cfg.Listen,
		Port:                cfg.Port,
		UDPReaders:          cfg.Threads,
		MaxConnections:      cfg.MaxConnections,
		MaxConnectionsPerIP: cfg.MaxConnectionsPerIP,
		ReadTimeout:         cfg.ReadTimeout.D(),
		IOTimeout:           cfg.IOTimeout.D(),
		Handler:             n.pool,
		Observer:            observer,
		Logger:              logger,
	}); err != nil {
		return nil, err
	}
	logger.Info("serving", "listen", cfg.Listen, "port", n.srv.Port(), "raida_id", cfg.RaidaID, "coin_id", cfg.CoinID, "data_root", dataRoot)
	return n, nil
}

// Port returns the TCP and UDP port served.
func (n *Node) Port() int { return n.srv.Port() }

// Shutdown stops accepting, finishes the requests in flight, writes every
// page back and closes, all within ctx. When ctx ends first (a request,
// the pool or the disk hangs), it returns at once with an error wrapping
// ctx's, leaving the rest running for the process's exit. Nothing
// acknowledged is lost then: the journal holds it and the next start
// replays it.
func (n *Node) Shutdown(ctx context.Context) error {
	done := make(chan error, 1)
	go func() {
		var errs []error
		if n.srv != nil {
			errs = append(errs, n.srv.Shutdown(ctx))
		}
		errs = append(errs, n.close())
		done <- errors.Join(errs...)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("node: shutdown unfinished (%w); the journal keeps every acknowledged change for the next start", ctx.Err())
	}
}

// Abort is the stop after a second signal: it closes the node's sockets,
// so that no further request is read, and returns without waiting for the
// requests in flight or writing pages back. It syncs nothing because
// nothing acknowledged needs it: an answer is sent only after the journal
// batch holding the request's changes is fdatasync'd (storage's Commit),
// so the journal holds every acknowledged change and the next start
// replays it. Doing no disk I/O, it cannot hang on a stuck disk. The
// process should exit once it returns; the data root keeps its journal
// until a clean stop.
func (n *Node) Abort() error {
	if n.srv == nil {
		return nil
	}
	return n.srv.Close()
}

func (n *Node) close() error {
	var errs []error
	if n.metrics != nil {
		errs = append(errs, n.metrics.Close())
	}
	if n.pool != nil {
		errs = append(errs, n.pool.Close())
	}
	if n.mod != nil {
		errs = append(errs, n.mod.Close())
	}
	if n.pages != nil {
		errs = append(errs, n.pages.Close())
	}
	if n.files != nil {
		errs = append(errs, n.files.Close())
	}
	return errors.Join(errs...)
}
