package localnet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/raidakx/raidakx/host/engine"
	"github.com/raidakx/raidakx/host/engines"
	"github.com/raidakx/raidakx/host/metrics"
	"github.com/raidakx/raidakx/host/node"
)

// ServeOptions configure Serve.
type ServeOptions struct {
	WasmPath string
	// MetricsListen is the address of the one /metrics endpoint, whose
	// series carry a raida_id label; "" serves none. The nodes'
	// metrics_listen keys are not read.
	MetricsListen string
	// Logger gets every node's lines, each tagged raida_id.
	Logger *slog.Logger
}

// Server is a network being served: every node in this process, sharing
// one compiled module.
type Server struct {
	Nodes   []*node.Node // by RAIDA id
	mod     engine.Module
	metrics *http.Server
	// MetricsAddr is the metrics endpoint's address, "" when off.
	MetricsAddr string
	logger      *slog.Logger
}

// Serve compiles the module once, under the engine, memory_limit and
// cache_dir of node 0 (every node must name the same engine and
// memory_limit), and starts every node of n on it, each with its own data
// root, page store, pool and port.
func Serve(ctx context.Context, n *Net, o ServeOptions) (_ *Server, err error) {
	s := &Server{logger: o.Logger}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	defer func() {
		if err != nil {
			s.Shutdown(context.Background())
		}
	}()
	c0 := n.Nodes[0].Config
	for _, nd := range n.Nodes[1:] {
		if nd.Config.Engine != c0.Engine || nd.Config.MemoryLimit != c0.MemoryLimit {
			return nil, fmt.Errorf("RAIDA %d has engine %s and memory_limit %d, RAIDA 0 %s and %d: one module serves every node, so they must agree",
				nd.ID, nd.Config.Engine, nd.Config.MemoryLimit, c0.Engine, c0.MemoryLimit)
		}
	}
	start := time.Now()
	if s.mod, err = engines.Load(ctx, c0.Engine, o.WasmPath, engine.Options{
		MemoryLimit: uint64(c0.MemoryLimit), CacheDir: c0.CacheDir,
	}, s.logger); err != nil {
		return nil, err
	}
	s.logger.Info("module compiled once for every node", "engine", c0.Engine, "compile", time.Since(start), "nodes", len(n.Nodes))
	var reg *metrics.Registry
	if o.MetricsListen != "" {
		reg = metrics.NewRegistry()
		if s.metrics, s.MetricsAddr, err = metrics.Listen(o.MetricsListen, reg.Handler()); err != nil {
			return nil, err
		}
		s.logger.Info("metrics of every node, labelled raida_id", "addr", s.MetricsAddr)
	}
	for _, nd := range n.Nodes {
		started, err := node.StartShared(ctx, nd.Root, nd.Config, node.Shared{Module: s.mod, Metrics: reg}, s.logger.With("raida_id", nd.ID))
		if err != nil {
			return nil, fmt.Errorf("RAIDA %d (%s, %s): %w", nd.ID, nd.Addr, nd.Root, err)
		}
		s.Nodes = append(s.Nodes, started)
	}
	return s, nil
}

// GoMemoryLimit is the sum of the nodes' go_memory_limit: each node's
// share of the process's soft heap limit.
func (n *Net) GoMemoryLimit() int64 {
	var sum int64
	for _, nd := range n.Nodes {
		sum += int64(nd.Config.GoMemoryLimit)
	}
	return sum
}

// Shutdown stops every node at once as node.Shutdown does (each finishes
// its requests in flight and flushes its pages), then the metrics
// endpoint and the module.
func (s *Server) Shutdown(ctx context.Context) error {
	errs := make([]error, len(s.Nodes))
	var wg sync.WaitGroup
	for i, nd := range s.Nodes {
		wg.Go(func() {
			if err := nd.Shutdown(ctx); err != nil {
				errs[i] = fmt.Errorf("RAIDA %d: %w", i, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(append(errs, s.closeShared())...)
}

// closeShared closes what the nodes share, once none uses it.
func (s *Server) closeShared() error {
	var errs []error
	if s.metrics != nil {
		errs = append(errs, s.metrics.Close())
		s.metrics = nil
	}
	if s.mod != nil {
		errs = append(errs, s.mod.Close())
		s.mod = nil
	}
	return errors.Join(errs...)
}

// Abort stops every node as node.Abort does (sockets closed, nothing
// waited for or written: the journals hold every acknowledged change),
// for a second signal.
func (s *Server) Abort() error {
	var errs []error
	for i, nd := range s.Nodes {
		if err := nd.Abort(); err != nil {
			errs = append(errs, fmt.Errorf("RAIDA %d: %w", i, err))
		}
	}
	return errors.Join(errs...)
}
