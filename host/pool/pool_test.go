package pool_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/engine"
	"github.com/raidakx/raidakx/host/imports"
	"github.com/raidakx/raidakx/host/pool"
	"github.com/raidakx/raidakx/host/storage"
	"github.com/raidakx/raidakx/wasm/wasmtest"
)

// What a fakeModule instance does with a request, by its command byte.
const (
	opEcho  = wasmtest.FaultyEcho // answers like the faulty module (wasmtest.FaultyAnswer)
	opWrite = 100                 // writes record (1, 7) under its page lock, then answers like opEcho
	opStuck = 101                 // reports on fakeModule.stuck, blocks until unstuck is closed (ignoring Interrupt), then answers like opEcho
)

// fakeModule is an engine.Module whose instances are plain Go, so that a
// test decides exactly what a request does and how long it takes.
type fakeModule struct {
	t       testing.TB
	stuck   chan struct{} // a value each time an opStuck request begins
	unstuck chan struct{} // closed (Unstick) to let opStuck requests return
	once    sync.Once
	live    atomic.Int64 // instances made and not closed
}

// Unstick lets every opStuck request, current and future, return.
func (m *fakeModule) Unstick() { m.once.Do(func() { close(m.unstuck) }) }

func newFakeModule(t testing.TB) *fakeModule {
	return &fakeModule{t: t, stuck: make(chan struct{}, 64), unstuck: make(chan struct{})}
}

func (m *fakeModule) Instantiate(env *imports.Env, _ abi.Config) (engine.Instance, error) {
	m.live.Add(1)
	return &fakeInstance{m: m, env: env}, nil
}

func (m *fakeModule) Close() error { return nil }

type fakeInstance struct {
	m      *fakeModule
	env    *imports.Env
	closed atomic.Bool
}

func (i *fakeInstance) Handle(req, resp []byte) (int, error) {
	if i.closed.Load() {
		i.m.t.Error("Handle called on a closed instance")
	}
	switch req[abi.OffCommand] {
	case opWrite:
		if e := i.env.PageLock(wasmtest.FaultyDen, wasmtest.FaultyPage); e != abi.OK {
			return 0, fmt.Errorf("page_lock: errno %d", e)
		}
		rec := wasmtest.FaultyRecord
		e := i.env.RecordWrite(wasmtest.FaultyDen, wasmtest.FaultySN, &rec)
		i.env.PageUnlock(wasmtest.FaultyDen, wasmtest.FaultyPage)
		if e != abi.OK {
			return 0, fmt.Errorf("record_write: errno %d", e)
		}
	case opStuck:
		i.m.stuck <- struct{}{}
		<-i.m.unstuck
	}
	return wasmtest.FaultyAnswer(resp, req, node.RaidaID), nil
}

// Interrupt does nothing: an opStuck request stays stuck, like a call the
// engine fails to stop, and keeps its instance.
func (i *fakeInstance) Interrupt() {}

func (i *fakeInstance) Close() error {
	if !i.closed.Swap(true) {
		i.m.live.Add(-1)
	}
	return nil
}

// fakeCommit is a Backend.Commit that a test controls.
type fakeCommit struct {
	calls    chan struct{} // a value each time a call begins
	release  chan struct{} // calls block until it is closed...
	honorCtx bool          // ...or, when set, until their context ends
	err      error         // what a released call returns
	once     sync.Once
}

func newFakeCommit() *fakeCommit {
	return &fakeCommit{calls: make(chan struct{}, 1024), release: make(chan struct{})}
}

func (c *fakeCommit) Commit(ctx context.Context) error {
	select {
	case c.calls <- struct{}{}:
	default: // nobody counts the calls of a long run
	}
	if c.honorCtx {
		select {
		case <-c.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	} else {
		<-c.release
	}
	return c.err
}

// Release lets every call, current and future, return.
func (c *fakeCommit) Release() { c.once.Do(func() { close(c.release) }) }

// entered waits up to 10 s for the next call to Commit to begin; it fails
// the test, reporting what other answered instead, if other is answered
// first.
func (c *fakeCommit) entered(t *testing.T, what string, other <-chan served) {
	t.Helper()
	select {
	case <-c.calls:
	case r := <-other:
		t.Fatalf("%s answered before its commit: %x %v", what, r.resp, r.err)
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: no commit after 10 s", what)
	}
}

// newFakePool returns a pool of fake instances over in-memory storage
// committed by commit (none when nil). The test's cleanup releases stuck
// requests and blocked commits, then closes the pool.
func newFakePool(t *testing.T, opts pool.Options, commit *fakeCommit) (*pool.Pool, *fakeModule) {
	t.Helper()
	m := newFakeModule(t)
	opts.Node = node
	opts.Logger = quiet
	opts.Backend = &imports.Backend{
		Records: storage.NewMemRecords(nil),
		Files:   storage.NewMemFiles(nil),
		Random:  rand.Reader,
		Clock:   time.Now,
		Logger:  quiet,
	}
	if commit != nil {
		opts.Backend.Commit = commit.Commit
	}
	p, err := pool.New(m, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	t.Cleanup(func() {
		m.Unstick()
		if commit != nil {
			commit.Release()
		}
	})
	return p, m
}

// healthy fails unless r is the healthy answer to req.
func healthy(t *testing.T, what string, req []byte, r served) {
	t.Helper()
	want := make([]byte, abi.ResponseCap)
	want = want[:wasmtest.FaultyAnswer(want, req, node.RaidaID)]
	if r.err != nil || !bytes.Equal(r.resp, want) {
		t.Errorf("%s: %x %v, want %x", what, r.resp, r.err, want)
	}
}

// TestCommitWaitersDoNotQueue sends, one after another, many more writing
// requests than Size+MaxQueue while commits block: each one gets an
// instance and reaches its commit, none is rejected, and echo requests are
// still answered, because a request waiting for its commit holds neither
// its instance nor a place in the queue.
func TestCommitWaitersDoNotQueue(t *testing.T) {
	for _, tc := range []struct {
		size, maxQueue int
		timeout        time.Duration
	}{
		{1, 0, 0},
		{1, 1, 0},
		{1, 1, time.Minute}, // commits run under a deadline
		{2, 1, time.Minute},
	} {
		t.Run(fmt.Sprintf("size%d-queue%d-timeout%v", tc.size, tc.maxQueue, tc.timeout), func(t *testing.T) {
			commit := newFakeCommit()
			p, _ := newFakePool(t, pool.Options{Size: tc.size, MaxQueue: tc.maxQueue, RequestTimeout: tc.timeout}, commit)
			writers := 3*(tc.size+tc.maxQueue) + 2
			reqs := make([][]byte, writers)
			done := make([]<-chan served, writers)
			for i := range writers {
				reqs[i] = wasmtest.FaultyRequest(node, opWrite, uint16(i))
				done[i] = serveAsync(p, reqs[i])
				commit.entered(t, fmt.Sprintf("writer %d", i), done[i])
			}
			for i := range writers {
				if err := serveEcho(p, uint16(0x100+i)); err != nil {
					t.Errorf("while %d requests wait for their commit: %v", writers, err)
				}
			}
			for i := range writers {
				select {
				case r := <-done[i]:
					t.Fatalf("writer %d answered while its commit blocks: %x %v", i, r.resp, r.err)
				default:
				}
			}
			if st := p.Stats(); st.Served != uint64(2*writers) || st.Rejected != 0 || st.WaitTimeouts != 0 {
				t.Errorf("stats %+v, want %d served, none rejected or timed out", st, 2*writers)
			}
			commit.Release()
			for i := range writers {
				healthy(t, fmt.Sprintf("writer %d", i), reqs[i], await(t, done[i], fmt.Sprintf("writer %d", i)))
			}
			if st := p.Stats(); st.CommitFailures != 0 || st.Faults != 0 {
				t.Errorf("stats %+v, want no commit failures or faults", st)
			}
		})
	}
}

// TestWaitTimeout holds the only instance with a stuck request: a request
// waiting for an instance is answered 252 once RequestTimeout has passed
// and counted in WaitTimeouts, and its place in the queue is given back.
// Without a RequestTimeout it waits until the instance is free.
func TestWaitTimeout(t *testing.T) {
	for _, tc := range []struct {
		name    string
		timeout time.Duration
	}{
		{"timeout", 100 * time.Millisecond},
		{"short timeout", 10 * time.Millisecond},
		{"no timeout", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, m := newFakePool(t, pool.Options{Size: 1, MaxQueue: 1, RequestTimeout: tc.timeout}, nil)
			stuckReq := wasmtest.FaultyRequest(node, opStuck, 0x5757)
			stuck := serveAsync(p, stuckReq)
			select {
			case <-m.stuck:
			case r := <-stuck:
				t.Fatalf("stuck request answered: %x %v", r.resp, r.err)
			}

			if tc.timeout == 0 {
				req := wasmtest.FaultyRequest(node, opEcho, 1)
				waiter := serveAsync(p, req)
				select {
				case r := <-waiter:
					t.Fatalf("waiter without a timeout answered while the instance is held: %x %v", r.resp, r.err)
				case <-time.After(200 * time.Millisecond):
				}
				m.Unstick()
				healthy(t, "waiter", req, await(t, waiter, "waiter"))
				healthy(t, "stuck request", stuckReq, await(t, stuck, "stuck request"))
				if st := p.Stats(); st.WaitTimeouts != 0 || st.Rejected != 0 || st.Served != 2 {
					t.Errorf("stats %+v, want 2 served, none timed out or rejected", st)
				}
				return
			}

			// Two waiters one after the other: had the first kept its
			// place in the queue (MaxQueue 1), the second would be
			// rejected.
			for i := range 2 {
				req := wasmtest.FaultyRequest(node, opEcho, uint16(i))
				r := await(t, serveAsync(p, req), fmt.Sprintf("waiter %d", i))
				if !errors.Is(r.err, pool.ErrWaitTimeout) || !bytes.Equal(r.resp, internalError(req)) {
					t.Errorf("waiter %d: %x %v, want 252 and ErrWaitTimeout", i, r.resp, r.err)
				}
				if r.took < tc.timeout {
					t.Errorf("waiter %d gave up after %v, before RequestTimeout %v", i, r.took, tc.timeout)
				}
				if st := p.Stats(); st.WaitTimeouts != uint64(i+1) || st.Rejected != 0 {
					t.Errorf("stats %+v, want %d wait timeouts, none rejected", st, i+1)
				}
			}
			select {
			case r := <-stuck:
				t.Fatalf("stuck request answered early: %x %v", r.resp, r.err)
			default:
			}
			// Once the instance is free (and, the watchdog having marked it,
			// replaced), the pool serves again.
			m.Unstick()
			await(t, stuck, "stuck request")
			waitFor(t, "back to 1 instance", func() bool { return p.Stats().Instances == 1 })
			if err := serveEcho(p, 0x0e0e); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestCommitDeadline makes the commit of a writing request fail, or block
// past RequestTimeout until its context ends: the request is answered 252
// (after about RequestTimeout), CommitFailures counts it, and the
// instance keeps serving.
func TestCommitDeadline(t *testing.T) {
	const timeout = 100 * time.Millisecond
	for _, tc := range []struct {
		name     string
		err      error // the commit fails at once with err
		honorCtx bool  // the commit blocks until its context ends
	}{
		{name: "fails", err: errors.New("disk on fire")},
		{name: "blocks until its deadline", honorCtx: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			commit := newFakeCommit()
			commit.honorCtx, commit.err = tc.honorCtx, tc.err
			if tc.err != nil {
				commit.Release()
			}
			p, _ := newFakePool(t, pool.Options{Size: 1, MaxQueue: 1, RequestTimeout: timeout}, commit)
			req := wasmtest.FaultyRequest(node, opWrite, 0x4141)
			r := await(t, serveAsync(p, req), "writer")
			if r.err == nil || !bytes.Equal(r.resp, internalError(req)) {
				t.Errorf("writer: %x %v, want 252", r.resp, r.err)
			}
			if tc.err != nil && !errors.Is(r.err, tc.err) {
				t.Errorf("writer: error %v, want %v", r.err, tc.err)
			}
			if tc.err == nil {
				if !errors.Is(r.err, context.DeadlineExceeded) {
					t.Errorf("writer: error %v, want context.DeadlineExceeded", r.err)
				}
				if r.took < timeout {
					t.Errorf("writer answered after %v, before RequestTimeout %v", r.took, timeout)
				}
			}
			if st := p.Stats(); st.CommitFailures != 1 || st.Served != 1 || st.Faults != 0 {
				t.Errorf("stats %+v, want 1 served, 1 commit failure, no fault", st)
			}
			if err := serveEcho(p, 0x4242); err != nil {
				t.Error(err)
			}

		})
	}
}

// TestCloseWaitsForCommit closes the pool while a request waits for its
// commit: requests after Close are answered ErrClosed at once, and Close
// returns only after the commit is released and the request answered.
func TestCloseWaitsForCommit(t *testing.T) {
	for _, timeout := range []time.Duration{0, time.Minute} {
		t.Run(fmt.Sprint("timeout", timeout), func(t *testing.T) {
			commit := newFakeCommit()
			p, m := newFakePool(t, pool.Options{Size: 1, MaxQueue: 1, RequestTimeout: timeout}, commit)
			req := wasmtest.FaultyRequest(node, opWrite, 0x4343)
			writer := serveAsync(p, req)
			commit.entered(t, "writer", writer)

			closed := make(chan error, 1)
			go func() { closed <- p.Close() }()
			waitFor(t, "answering ErrClosed", func() bool {
				req := wasmtest.FaultyRequest(node, opEcho, 1)
				resp := make([]byte, abi.ResponseCap)
				n, err := p.Serve(req, resp)
				if err != nil && (!errors.Is(err, pool.ErrClosed) || !bytes.Equal(resp[:n], internalError(req))) {
					t.Fatalf("Serve while closing: %x %v, want a healthy answer or 252 and ErrClosed", resp[:n], err)
				}
				return err != nil
			})
			select {
			case err := <-closed:
				t.Fatalf("Close returned (%v) while a request waits for its commit", err)
			case r := <-writer:
				t.Fatalf("writer answered before its commit returned: %x %v", r.resp, r.err)
			case <-time.After(200 * time.Millisecond):
			}
			if n := m.live.Load(); n != 1 {
				t.Errorf("%d live instances while closing, want 1", n)
			}

			commit.Release()
			healthy(t, "writer", req, await(t, writer, "writer"))
			select {
			case err := <-closed:
				if err != nil {
					t.Error(err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Close still waiting after 10 s")
			}
			if n := m.live.Load(); n != 0 {
				t.Errorf("%d live instances after Close, want 0", n)
			}
		})
	}
}

// TestCloseWhileServing closes a pool under concurrent load: every Serve
// returns, with a healthy answer or a 252 for a reason the pool gives, no
// instance handles a request after it is closed, and every instance is
// closed. Run with -race, it also checks Close's accounting of requests.
func TestCloseWhileServing(t *testing.T) {
	commit := newFakeCommit()
	commit.Release()
	p, m := newFakePool(t, pool.Options{Size: 2, MaxQueue: 2, RequestTimeout: 50 * time.Millisecond}, commit)
	var wg sync.WaitGroup
	var answered atomic.Int64
	for g := range 8 {
		wg.Go(func() {
			resp := make([]byte, abi.ResponseCap)
			for i := 0; ; i++ {
				op := byte(opEcho)
				if i%2 == 0 {
					op = opWrite
				}
				req := wasmtest.FaultyRequest(node, op, uint16(g<<8|i&0xff))
				n, err := p.Serve(req, resp)
				switch {
				case errors.Is(err, pool.ErrClosed):
					return
				case err == nil:
					answered.Add(1)
				case errors.Is(err, pool.ErrQueueFull), errors.Is(err, pool.ErrWaitTimeout):
				default:
					t.Errorf("Serve: %x %v", resp[:n], err)
					return
				}
			}
		})
	}
	waitFor(t, "serving", func() bool { return answered.Load() > 100 })
	if err := p.Close(); err != nil {
		t.Error(err)
	}
	wg.Wait()
	if n := m.live.Load(); n != 0 {
		t.Errorf("%d live instances after Close, want 0", n)
	}
	t.Logf("%d answered; stats %+v", answered.Load(), p.Stats())
}

// TestServeAllocs checks that a request finding an idle instance, and
// needing no commit, allocates nothing in the pool.
func TestServeAllocs(t *testing.T) {
	for _, timeout := range []time.Duration{0, time.Minute} {
		p, _ := newFakePool(t, pool.Options{Size: 1, MaxQueue: 1, RequestTimeout: timeout}, newFakeCommit())
		req := wasmtest.FaultyRequest(node, opEcho, 0x0a11)
		resp := make([]byte, abi.ResponseCap)
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := p.Serve(req, resp); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("RequestTimeout %v: %v allocations per request, want 0", timeout, allocs)
		}
	}
}

// TestNoQueue: with MaxQueue 0 (max_queue = 0), a request that finds no
// idle instance is answered 252 with ErrQueueFull at once, whatever
// RequestTimeout (here an hour) would have let it wait; the pool serves
// again once the instance is free.
func TestNoQueue(t *testing.T) {
	p, m := newFakePool(t, pool.Options{Size: 1, MaxQueue: 0, RequestTimeout: time.Hour}, nil)
	stuckReq := wasmtest.FaultyRequest(node, opStuck, 0x5757)
	stuck := serveAsync(p, stuckReq)
	<-m.stuck
	req := wasmtest.FaultyRequest(node, opEcho, 1)
	r := await(t, serveAsync(p, req), "request finding no idle instance")
	if !errors.Is(r.err, pool.ErrQueueFull) || !bytes.Equal(r.resp, internalError(req)) {
		t.Errorf("request finding no idle instance: %x %v, want 252 and ErrQueueFull", r.resp, r.err)
	}
	m.Unstick()
	healthy(t, "stuck request", stuckReq, await(t, stuck, "stuck request"))
	healthy(t, "request after", req, await(t, serveAsync(p, req), "request after"))
	if st := p.Stats(); st.Rejected != 1 || st.WaitTimeouts != 0 || st.Served != 2 {
		t.Errorf("stats %+v, want 1 rejected, 2 served", st)
	}
}
