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
	"net"
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
func Start(ctx context.Context, dataRoot string, cfg *config.Config, wasmPath string, logger *slog.Logger) (_ *Node, err error) {
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
	if n.mod, err = engines.Load(ctx, cfg.Engine, wasmPath, engine.Options{
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
	if cfg.MetricsListen != "" {
		m := metrics.New(n.pool.Stats, n.pages.Stats)
		ln, err := net.Listen("tcp", cfg.MetricsListen)
		if err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", m.Handler())
		n.metrics = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go n.metrics.Serve(ln)
		observer = m
		logger.Info("metrics", "addr", ln.Addr().String())
	}
	if n.srv, err = server.Start(server.Options{
		Listen:         cfg.Listen,
		Port:           cfg.Port,
		UDPReaders:     cfg.Threads,
		MaxConnections: cfg.MaxConnections,
		IOTimeout:      cfg.IOTimeout.D(),
		Handler:        n.pool,
		Observer:       observer,
		Logger:         logger,
	}); err != nil {
		return nil, err
	}
	logger.Info("serving", "listen", cfg.Listen, "port", n.srv.Port(), "raida_id", cfg.RaidaID, "coin_id", cfg.CoinID, "data_root", dataRoot)
	return n, nil
}

// Port returns the TCP and UDP port served.
func (n *Node) Port() int { return n.srv.Port() }

// Shutdown stops accepting, finishes the requests in flight, flushes every
// page and closes.
func (n *Node) Shutdown(ctx context.Context) error {
	var errs []error
	if n.srv != nil {
		errs = append(errs, n.srv.Shutdown(ctx))
	}
	errs = append(errs, n.close())
	return errors.Join(errs...)
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
