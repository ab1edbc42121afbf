// Package pool keeps warm module instances and runs requests on them: a
// request borrows an idle instance, an instance that faults or overruns
// its time is discarded and replaced in the background, and a full pool
// queues a bounded number of requests.
package pool

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/engine"
	"github.com/raidakx/raidakx/host/imports"
)

// Options configures a Pool.
type Options struct {
	Size           int           // instances kept warm, at least 1
	MaxQueue       int           // requests that may wait for an instance
	RequestTimeout time.Duration // a call running longer is interrupted
	Node           abi.Config
	Backend        *imports.Backend
	Logger         *slog.Logger
}

// Stats are the pool's counters since it was made.
type Stats struct {
	Served       uint64 // requests answered by an instance
	Faults       uint64 // requests answered 252 because their instance failed
	Timeouts     uint64 // of those, interrupted for running too long
	Rejected     uint64 // requests answered 252 because the queue was full
	Replacements uint64 // instances made to replace failed ones
	Instances    int64  // instances ready or busy now
}

// ErrClosed is returned by Serve after Close.
var ErrClosed = errors.New("pool: closed")

// Pool runs requests on warm instances of one module.
type Pool struct {
	mod    engine.Module
	opts   Options
	logger *slog.Logger
	idle   chan *slot
	admit  chan struct{} // one token per request in the pool, running or queued
	slots  []*slot
	stop   chan struct{}
	wg     sync.WaitGroup
	closed atomic.Bool

	served, faults, timeouts, rejected, replacements atomic.Uint64
	instances                                        atomic.Int64
}

// slot holds one instance and its imports. Only the request that borrowed
// it (or, after a fault, the goroutine replacing it) uses inst and env; mu
// guards them, started and interrupted against the watchdog.
type slot struct {
	mu          sync.Mutex
	inst        engine.Instance
	env         *imports.Env
	started     int64 // UnixNano when the running call began, 0 when none runs
	interrupted bool  // the watchdog interrupted this instance
}

// New makes opts.Size instances of mod and returns the pool serving them.
func New(mod engine.Module, opts Options) (*Pool, error) {
	if opts.Size < 1 {
		return nil, fmt.Errorf("pool: size %d", opts.Size)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	p := &Pool{
		mod:    mod,
		opts:   opts,
		logger: opts.Logger,
		idle:   make(chan *slot, opts.Size),
		admit:  make(chan struct{}, opts.Size+opts.MaxQueue),
		stop:   make(chan struct{}),
	}
	for range opts.Size {
		s := &slot{}
		if err := p.fill(s); err != nil {
			p.Close()
			return nil, err
		}
		p.slots = append(p.slots, s)
		p.idle <- s
	}
	if opts.RequestTimeout > 0 {
		p.wg.Add(1)
		go p.watchdog()
	}
	return p, nil
}

// fill gives s a new instance with its own imports.
func (p *Pool) fill(s *slot) error {
	env := imports.NewEnv(p.opts.Backend)
	inst, err := p.mod.Instantiate(env, p.opts.Node)
	if err != nil {
		return fmt.Errorf("pool: instantiate: %w", err)
	}
	s.mu.Lock()
	s.inst, s.env, s.interrupted = inst, env, false
	s.mu.Unlock()
	p.instances.Add(1)
	return nil
}

// Serve answers req into resp (abi.ResponseCap bytes) and returns the
// response length (0: no answer). The answer is only returned once every
// change the request made is durable; when that fails, or the instance
// fails, or the pool is overloaded, the answer is 252.
func (p *Pool) Serve(req, resp []byte) (int, error) {
	if p.closed.Load() {
		return abi.PutInternalError(resp, req, p.opts.Node.RaidaID), ErrClosed
	}
	select {
	case p.admit <- struct{}{}:
	default:
		p.rejected.Add(1)
		return abi.PutInternalError(resp, req, p.opts.Node.RaidaID), errors.New("pool: queue full")
	}
	defer func() { <-p.admit }()
	s := <-p.idle
	s.mu.Lock()
	s.started = time.Now().UnixNano()
	s.mu.Unlock()
	n, err := engine.Serve(s.inst, s.env, p.opts.Node, req, resp)
	s.mu.Lock()
	s.started = 0
	interrupted := s.interrupted
	s.mu.Unlock()
	wrote := s.env.TakeWrote()
	switch {
	case err == nil && !interrupted:
		p.served.Add(1)
		// The instance goes back before the commit, so that requests
		// waiting for the same sync round are not limited to the number
		// of instances.
		p.idle <- s
	case err == nil:
		// The call finished just as the watchdog struck: the answer is
		// good, the instance is not.
		p.served.Add(1)
		p.discard(s)
	default:
		p.faults.Add(1)
		if interrupted {
			p.timeouts.Add(1)
		}
		p.logger.Warn("instance failed; replacing it", "err", err, "timeout", interrupted)
		p.discard(s)
	}
	// Changes are durable before any answer, a 252 included: the writes a
	// failed request completed are visible to the next one.
	if wrote && p.opts.Backend.Commit != nil {
		if cerr := p.opts.Backend.Commit(); cerr != nil {
			p.logger.Error("commit failed; answering 252", "err", cerr)
			if err == nil {
				n, err = abi.PutInternalError(resp, req, p.opts.Node.RaidaID), cerr
			}
		}
	}
	return n, err
}

// discard takes s out of service and replaces its instance in the
// background.
func (p *Pool) discard(s *slot) {
	p.instances.Add(-1)
	p.wg.Add(1)
	go p.replace(s)
}

// replace discards s's instance and makes a new one, retrying with backoff
// until it succeeds or the pool closes.
func (p *Pool) replace(s *slot) {
	defer p.wg.Done()
	s.inst.Close()
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		err := p.fill(s)
		if err == nil {
			p.replacements.Add(1)
			p.idle <- s
			return
		}
		p.logger.Error("replacing instance failed", "err", err, "retry_in", wait)
		select {
		case <-p.stop:
			return
		case <-time.After(wait):
		}
	}
}

// watchdog interrupts calls that run longer than RequestTimeout. Checking
// a few times per timeout costs nothing per request.
func (p *Pool) watchdog() {
	defer p.wg.Done()
	tick := time.NewTicker(max(p.opts.RequestTimeout/4, time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-p.stop:
			return
		case now := <-tick.C:
			for _, s := range p.slots {
				s.mu.Lock()
				if s.started != 0 && !s.interrupted && now.UnixNano()-s.started > int64(p.opts.RequestTimeout) {
					s.interrupted = true
					s.inst.Interrupt()
				}
				s.mu.Unlock()
			}
		}
	}
}

// Stats returns the pool's counters.
func (p *Pool) Stats() Stats {
	return Stats{
		Served:       p.served.Load(),
		Faults:       p.faults.Load(),
		Timeouts:     p.timeouts.Load(),
		Rejected:     p.rejected.Load(),
		Replacements: p.replacements.Load(),
		Instances:    p.instances.Load(),
	}
}

// Close waits for running requests, then closes every instance.
func (p *Pool) Close() error {
	if p.closed.Swap(true) {
		return nil
	}
	// Take every admission token: when all are ours, nothing runs.
	for range cap(p.admit) {
		p.admit <- struct{}{}
	}
	close(p.stop)
	p.wg.Wait()
	for _, s := range p.slots {
		if s.inst != nil {
			s.inst.Close()
		}
	}
	return nil
}
