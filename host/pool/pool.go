// Package pool keeps warm module instances and runs requests on them: a
// request borrows an idle instance, an instance that faults or overruns
// its time is discarded and replaced in the background, and a full pool
// queues a bounded number of requests for a bounded time.
package pool

import (
	"context"
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
	Size int // instances kept warm, at least 1
	// MaxQueue is how many requests may wait for an instance at once; 0:
	// none waits, a request finding no idle instance is answered 252 at
	// once.
	MaxQueue int
	// RequestTimeout bounds each wait of a request separately: for an
	// idle instance, in the module (the call is interrupted), and for its
	// commit (Backend.Commit). 0: no limit.
	RequestTimeout time.Duration
	Node           abi.Config
	Backend        *imports.Backend
	Logger         *slog.Logger
}

// Stats are the pool's counters since it was made.
type Stats struct {
	Served       uint64 // requests answered by an instance
	Faults       uint64 // requests answered 252 because their instance failed
	Timeouts     uint64 // of those, interrupted for running too long
	Rejected     uint64 // requests answered 252 because MaxQueue requests were waiting already
	WaitTimeouts uint64 // requests answered 252 because no instance was free within RequestTimeout
	// CommitFailures counts requests whose changes could not be made
	// durable: Backend.Commit failed or did not return within
	// RequestTimeout. Each is answered 252.
	CommitFailures uint64
	Replacements   uint64 // instances made to replace failed ones
	Instances      int64  // instances ready or busy now
}

// Errors Serve returns with a 252 answer.
var (
	ErrClosed      = errors.New("pool: closed")
	ErrQueueFull   = errors.New("pool: queue full")
	ErrWaitTimeout = errors.New("pool: no instance free within the request timeout")
)

// Pool runs requests on warm instances of one module.
type Pool struct {
	mod    engine.Module
	opts   Options
	logger *slog.Logger
	idle   chan *slot
	queue  chan struct{} // one token per request waiting for an instance
	slots  []*slot
	// running is held for reading by every Serve call from its admission
	// to its answer (waiting, running, committing): Close takes it for
	// writing to wait until none is left.
	running sync.RWMutex
	stop    chan struct{}  // closed by Close once no request runs
	wg      sync.WaitGroup // the watchdog and replacements
	closed  atomic.Bool
	// afterCall, set by tests only (export_test.go), runs after each call
	// returns and before Serve reads whether the watchdog interrupted it.
	afterCall func()

	served, faults, timeouts, rejected, waitTimeouts, commitFailures, replacements atomic.Uint64
	instances                                                                      atomic.Int64
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
		queue:  make(chan struct{}, max(opts.MaxQueue, 0)),
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
		p.instances.Add(1)
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
	return nil
}

// Serve answers req into resp (abi.ResponseCap bytes) and returns the
// response length (0: no answer). The answer is only returned once every
// change the request made is durable; when that fails, or the instance
// fails, or no instance is free (ErrQueueFull, ErrWaitTimeout), the answer
// is 252 and the error says why.
func (p *Pool) Serve(req, resp []byte) (int, error) {
	if p.closed.Load() {
		return abi.PutInternalError(resp, req, p.opts.Node.RaidaID), ErrClosed
	}
	p.running.RLock()
	defer p.running.RUnlock()
	if p.closed.Load() {
		// Close began between the check above and RLock.
		return abi.PutInternalError(resp, req, p.opts.Node.RaidaID), ErrClosed
	}
	s, err := p.borrow()
	if err != nil {
		return abi.PutInternalError(resp, req, p.opts.Node.RaidaID), err
	}
	s.mu.Lock()
	s.started = time.Now().UnixNano()
	s.mu.Unlock()
	n, err := engine.Serve(s.inst, s.env, p.opts.Node, req, resp)
	if p.afterCall != nil {
		p.afterCall()
	}
	s.mu.Lock()
	s.started = 0
	interrupted := s.interrupted
	s.mu.Unlock()
	uncommitted := s.env.TakeUncommitted()
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
	if uncommitted && p.opts.Backend.Commit != nil {
		if cerr := p.commit(); cerr != nil {
			p.commitFailures.Add(1)
			p.logger.Error("commit failed; answering 252", "err", cerr)
			if err == nil {
				n, err = abi.PutInternalError(resp, req, p.opts.Node.RaidaID), cerr
			}
		}
	}
	return n, err
}

// borrow returns an idle instance. When none is, the request waits for one
// if fewer than MaxQueue requests wait already, for at most
// RequestTimeout. Only waiting requests hold a queue token: a request
// that has its instance, or is waiting for its commit, occupies no place
// in the queue.
func (p *Pool) borrow() (*slot, error) {
	// The fast path: no token, no timer.
	select {
	case s := <-p.idle:
		return s, nil
	default:
	}
	select {
	case p.queue <- struct{}{}:
	default:
		p.rejected.Add(1)
		return nil, ErrQueueFull
	}
	defer func() { <-p.queue }()
	if p.opts.RequestTimeout <= 0 {
		return <-p.idle, nil
	}
	t := time.NewTimer(p.opts.RequestTimeout)
	defer t.Stop()
	select {
	case s := <-p.idle:
		return s, nil
	case <-t.C:
		p.waitTimeouts.Add(1)
		return nil, ErrWaitTimeout
	}
}

// commit calls Backend.Commit with a context that ends RequestTimeout
// after the call (none when 0). Backend.Commit returns when its context
// ends (storage.Committer's contract), so a hung disk holds a request no
// longer than that.
func (p *Pool) commit() error {
	if p.opts.RequestTimeout <= 0 {
		return p.opts.Backend.Commit(context.Background())
	}
	ctx, cancel := context.WithTimeout(context.Background(), p.opts.RequestTimeout)
	defer cancel()
	return p.opts.Backend.Commit(ctx)
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
			// Counted once idle: Instances == Size means every instance
			// can be borrowed.
			p.idle <- s
			p.instances.Add(1)
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
			p.interruptOverdue(now)
		}
	}
}

// interruptOverdue interrupts every call that, at now, has run longer than
// RequestTimeout.
func (p *Pool) interruptOverdue(now time.Time) {
	for _, s := range p.slots {
		s.mu.Lock()
		if s.started != 0 && !s.interrupted && now.UnixNano()-s.started > int64(p.opts.RequestTimeout) {
			s.interrupted = true
			s.inst.Interrupt()
		}
		s.mu.Unlock()
	}
}

// Stats returns the pool's counters.
func (p *Pool) Stats() Stats {
	return Stats{
		Served:         p.served.Load(),
		Faults:         p.faults.Load(),
		Timeouts:       p.timeouts.Load(),
		Rejected:       p.rejected.Load(),
		WaitTimeouts:   p.waitTimeouts.Load(),
		CommitFailures: p.commitFailures.Load(),
		Replacements:   p.replacements.Load(),
		Instances:      p.instances.Load(),
	}
}

// Close waits for every request in the pool (waiting for an instance,
// running or waiting for its commit), then closes every instance. Requests after Close are
// answered 252 with ErrClosed.
func (p *Pool) Close() error {
	if p.closed.Swap(true) {
		return nil
	}
	// Every Serve that saw closed false holds p.running for reading until
	// it returns; a Serve that sees closed true never borrows an instance.
	p.running.Lock()
	close(p.stop)
	p.running.Unlock()
	p.wg.Wait()
	for _, s := range p.slots {
		if s.inst != nil {
			s.inst.Close()
		}
	}
	return nil
}
