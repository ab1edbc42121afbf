package pool_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/engine"
	"github.com/raidakx/raidakx/host/engine/wazero"
	"github.com/raidakx/raidakx/host/imports"
	"github.com/raidakx/raidakx/host/pool"
	"github.com/raidakx/raidakx/host/storage"
	"github.com/raidakx/raidakx/wasm/wasmtest"
)

var node = abi.Config{RaidaID: 14, CoinID: 6}

var quiet = slog.New(slog.DiscardHandler)

var (
	faultyOnce sync.Once
	faultyMod  *wazero.Module
	faultyErr  error
)

// faultyModule compiles the faulty module (wasm/wasmtest.FaultyPath) with
// wazero's compiler once per test binary.
func faultyModule(tb testing.TB) engine.Module {
	tb.Helper()
	path := wasmtest.FaultyPath(tb)
	faultyOnce.Do(func() {
		var wasm []byte
		if wasm, faultyErr = os.ReadFile(path); faultyErr == nil {
			faultyMod, faultyErr = wazero.Compile(context.Background(), wasm, false, engine.Options{MemoryLimit: 32 << 20}, quiet)
		}
	})
	if faultyErr != nil {
		tb.Fatal(faultyErr)
	}
	return faultyMod
}

// loopWatch is a slog handler that reports each time an instance logs
// wasmtest.FaultyLoopMessage, i.e. a FaultyLoop request is running.
type loopWatch chan struct{}

func (w loopWatch) Enabled(context.Context, slog.Level) bool { return true }
func (w loopWatch) WithAttrs([]slog.Attr) slog.Handler       { return w }
func (w loopWatch) WithGroup(string) slog.Handler            { return w }
func (w loopWatch) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, wasmtest.FaultyLoopMessage) {
		select {
		case w <- struct{}{}:
		default:
		}
	}
	return nil
}

// newBackend returns in-memory storage and a backend over it whose log
// reports running FaultyLoop requests on the returned channel.
func newBackend() (*imports.Backend, *storage.MemRecords, loopWatch) {
	records := storage.NewMemRecords(nil)
	watch := make(loopWatch, 16)
	return &imports.Backend{
		Records: records,
		Files:   storage.NewMemFiles(nil),
		Random:  rand.Reader,
		Clock:   time.Now,
		Logger:  slog.New(watch),
	}, records, watch
}

func newPool(t *testing.T, opts pool.Options) *pool.Pool {
	t.Helper()
	opts.Node = node
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	p, err := pool.New(faultyModule(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// internalError is the 252 answer a host gives req.
func internalError(req []byte) []byte {
	b := make([]byte, abi.ResponseCap)
	return b[:abi.PutInternalError(b, req, node.RaidaID)]
}

// serveEcho sends a FaultyEcho request with echo bytes echo and checks the
// healthy answer.
func serveEcho(p *pool.Pool, echo uint16) error {
	req := wasmtest.FaultyRequest(node, wasmtest.FaultyEcho, echo)
	resp := make([]byte, abi.ResponseCap)
	n, err := p.Serve(req, resp)
	if err != nil {
		return fmt.Errorf("echo %04x: %v (answer %x)", echo, err, resp[:n])
	}
	want := make([]byte, abi.ResponseCap)
	want = want[:wasmtest.FaultyAnswer(want, req, node.RaidaID)]
	if !bytes.Equal(resp[:n], want) {
		return fmt.Errorf("echo %04x: answer %x, want %x", echo, resp[:n], want)
	}
	return nil
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: not %s", what)
		}
	}
}

// wantUnlocked fails unless another goroutine can take the lock of (den,
// page) within 5 s.
func wantUnlocked(t *testing.T, records *storage.MemRecords, den int8, page uint32) {
	t.Helper()
	locked := make(chan error, 1)
	go func() {
		err := records.Lock(den, page)
		if err == nil {
			records.Unlock(den, page)
		}
		locked <- err
	}()
	select {
	case err := <-locked:
		if err != nil {
			t.Errorf("Lock(%d, %d): %v", den, page, err)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("page (%d, %d) is still locked", den, page)
	}
}

type served struct {
	n    int
	err  error
	resp []byte
	took time.Duration
}

// serveAsync runs p.Serve(req) on a goroutine.
func serveAsync(p *pool.Pool, req []byte) <-chan served {
	done := make(chan served, 1)
	go func() {
		resp := make([]byte, abi.ResponseCap)
		start := time.Now()
		n, err := p.Serve(req, resp)
		done <- served{n, err, resp[:n], time.Since(start)}
	}()
	return done
}

func await(t *testing.T, done <-chan served, what string) served {
	t.Helper()
	select {
	case r := <-done:
		return r
	case <-time.After(10 * time.Second):
		t.Fatalf("%s still running after 10 s", what)
		return served{}
	}
}

// TestFaultsReplaced sends each fault behaviour to a pool of 2: the request
// is answered 252, the failed instance is replaced in the background, and
// the pool goes on answering correctly with 2 instances.
func TestFaultsReplaced(t *testing.T) {
	for behaviour := byte(1); behaviour <= 9; behaviour++ {
		t.Run(fmt.Sprint(behaviour), func(t *testing.T) {
			t.Parallel()
			backend, records, watch := newBackend()
			timeout := 30 * time.Second // a safety net; only FaultyLoop needs the watchdog
			if behaviour == wasmtest.FaultyLoop {
				timeout = 200 * time.Millisecond
			}
			p := newPool(t, pool.Options{Size: 2, MaxQueue: 32, RequestTimeout: timeout, Backend: backend})
			if st := p.Stats(); st.Instances != 2 {
				t.Fatalf("new pool: %+v", st)
			}

			req := wasmtest.FaultyRequest(node, behaviour, 0xbe00+uint16(behaviour))
			done := serveAsync(p, req)
			if behaviour == wasmtest.FaultyLoop {
				// While one instance loops, the other one serves.
				select {
				case <-watch:
				case r := <-done:
					t.Fatalf("looping request returned: %x %v", r.resp, r.err)
				}
				for i := range 5 {
					if err := serveEcho(p, uint16(i)); err != nil {
						t.Error(err)
					}
				}
			}
			r := await(t, done, "faulty request")
			t.Logf("after %v: %v", r.took.Round(time.Millisecond), firstLine(r.err))
			if r.err == nil {
				t.Fatalf("Serve succeeded: %x", r.resp)
			}
			if want := internalError(req); !bytes.Equal(r.resp, want) {
				t.Errorf("answer %x, want %x (252)", r.resp, want)
			}
			st := p.Stats()
			wantTimeouts := uint64(0)
			if behaviour == wasmtest.FaultyLoop {
				wantTimeouts = 1
				if r.took < timeout {
					t.Errorf("interrupted after %v, before RequestTimeout %v", r.took, timeout)
				}
			}
			if st.Faults != 1 || st.Timeouts != wantTimeouts || st.Rejected != 0 {
				t.Errorf("stats after the fault: %+v, want 1 fault, %d timeouts, 0 rejected", st, wantTimeouts)
			}

			// 20 requests from 4 goroutines: the healthy instance and,
			// once it is back, the replacement answer them all.
			var wg sync.WaitGroup
			for g := range 4 {
				wg.Go(func() {
					for i := range 5 {
						if err := serveEcho(p, uint16(g<<8|i)); err != nil {
							t.Error(err)
						}
					}
				})
			}
			wg.Wait()
			waitFor(t, "replaced", func() bool {
				st := p.Stats()
				return st.Replacements >= 1 && st.Instances == 2
			})
			st = p.Stats()
			if st.Replacements != 1 || st.Instances != 2 || st.Faults != 1 || st.Timeouts != wantTimeouts {
				t.Errorf("stats: %+v, want 1 replacement, 2 instances, 1 fault, %d timeouts", st, wantTimeouts)
			}
			// And the replacement serves too: with both instances busy on
			// concurrent requests, every one is answered.
			for range 2 {
				if err := serveEcho(p, 0x7777); err != nil {
					t.Error(err)
				}
			}
			wantUnlocked(t, records, wasmtest.FaultyDen, wasmtest.FaultyPage)

			if behaviour == wasmtest.FaultyWriteThenDie {
				// ABI section 6: a write completed before the trap stays
				// done, and whole.
				got, ok := records.Snapshot()[storage.RecordKey{Den: wasmtest.FaultyDen, SN: wasmtest.FaultySN}]
				if !ok || got != wasmtest.FaultyRecord {
					t.Errorf("record (1, 7) = %x (present %v), want %x", got, ok, wasmtest.FaultyRecord)
				}
			} else if snap := records.Snapshot(); len(snap) != 0 {
				t.Errorf("records written: %v", snap)
			}
		})
	}
}

// TestFullPoolRejects fills a pool of 1 without a queue with a request that
// loops: a concurrent request is answered 252 while the loop still runs
// (it did not wait for the instance) and counted as rejected; once the
// watchdog ends the loop, the pool serves again.
func TestFullPoolRejects(t *testing.T) {
	backend, _, watch := newBackend()
	p := newPool(t, pool.Options{Size: 1, MaxQueue: 0, RequestTimeout: 3 * time.Second, Backend: backend})
	loop := wasmtest.FaultyRequest(node, wasmtest.FaultyLoop, 0x0303)
	done := serveAsync(p, loop)
	select {
	case <-watch:
	case r := <-done:
		t.Fatalf("looping request returned: %x %v", r.resp, r.err)
	}

	req := wasmtest.FaultyRequest(node, wasmtest.FaultyEcho, 0x0a0b)
	resp := make([]byte, abi.ResponseCap)
	n, err := p.Serve(req, resp)
	select {
	case r := <-done:
		t.Fatalf("the rejection waited for the looping request to end (%x %v)", r.resp, r.err)
	default:
	}
	if err == nil {
		t.Fatalf("full pool served: %x", resp[:n])
	}
	if want := internalError(req); !bytes.Equal(resp[:n], want) {
		t.Errorf("answer %x, want %x (252)", resp[:n], want)
	}
	if st := p.Stats(); st.Rejected != 1 || st.Faults != 0 {
		t.Errorf("stats: %+v, want 1 rejected, 0 faults", st)
	}

	r := await(t, done, "looping request")
	if r.err == nil || !bytes.Equal(r.resp, internalError(loop)) {
		t.Errorf("looping request: %x %v, want 252", r.resp, r.err)
	}
	if st := p.Stats(); st.Timeouts != 1 || st.Faults != 1 {
		t.Errorf("stats: %+v, want 1 timeout", st)
	}
	waitFor(t, "replaced", func() bool { return p.Stats().Instances == 1 })
	for i := range 3 {
		if err := serveEcho(p, uint16(i)); err != nil {
			t.Error(err)
		}
	}
	if st := p.Stats(); st.Rejected != 1 || st.Served != 3 || st.Replacements != 1 {
		t.Errorf("stats: %+v, want 1 rejected, 3 served, 1 replacement", st)
	}
}

// TestCloseWaits closes a pool while a request runs: Close returns only
// after that request has been answered (the watchdog ends it), and
// requests after Close are answered 252 with ErrClosed.
func TestCloseWaits(t *testing.T) {
	backend, records, watch := newBackend()
	p := newPool(t, pool.Options{Size: 1, MaxQueue: 0, RequestTimeout: 300 * time.Millisecond, Backend: backend})
	loop := wasmtest.FaultyRequest(node, wasmtest.FaultyLoop, 0x0303)
	done := serveAsync(p, loop)
	select {
	case <-watch:
	case r := <-done:
		t.Fatalf("looping request returned: %x %v", r.resp, r.err)
	}
	closed := make(chan error, 1)
	go func() { closed <- p.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close still waiting after 10 s")
	}
	// Serve counts the fault before it returns, so Close returning after
	// that shows it waited for the request.
	if st := p.Stats(); st.Faults != 1 || st.Timeouts != 1 {
		t.Errorf("Close returned before the running request ended: %+v", st)
	}
	r := await(t, done, "looping request")
	if r.err == nil || !bytes.Equal(r.resp, internalError(loop)) {
		t.Errorf("looping request: %x %v, want 252", r.resp, r.err)
	}

	req := wasmtest.FaultyRequest(node, wasmtest.FaultyEcho, 1)
	resp := make([]byte, abi.ResponseCap)
	n, err := p.Serve(req, resp)
	if !errors.Is(err, pool.ErrClosed) || !bytes.Equal(resp[:n], internalError(req)) {
		t.Errorf("Serve after Close: %x %v, want 252 and ErrClosed", resp[:n], err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	wantUnlocked(t, records, wasmtest.FaultyDen, wasmtest.FaultyPage)
}

func firstLine(err error) string {
	if err == nil {
		return "<nil>"
	}
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// TestLockHolderInterrupted runs an instance that loops holding page
// (1, 0) while a second request waits for that page. The watchdog
// interrupts the holder, the pool releases its lock, and the waiter gets
// the page and is answered: no instance waits for a lock longer than the
// holder's time limit (ABI sections 4 and 6).
func TestLockHolderInterrupted(t *testing.T) {
	backend, records, watch := newBackend()
	const timeout = time.Second
	p := newPool(t, pool.Options{Size: 2, MaxQueue: 4, RequestTimeout: timeout, Backend: backend})
	holder := wasmtest.FaultyRequest(node, wasmtest.FaultyLoopLocked, 0x1501)
	held := serveAsync(p, holder)
	select {
	case <-watch:
	case r := <-held:
		t.Fatalf("lock holder returned: %x %v", r.resp, r.err)
	}
	// Start the waiter halfway through the holder's time, so that the
	// watchdog ends the holder well before the waiter's own limit.
	time.Sleep(timeout / 2)
	waiter := wasmtest.FaultyRequest(node, wasmtest.FaultyLockedRead, 0x1601)
	waited := serveAsync(p, waiter)

	h := await(t, held, "lock holder")
	if h.err == nil || !bytes.Equal(h.resp, internalError(holder)) {
		t.Errorf("lock holder: %x %v, want 252", h.resp, h.err)
	}
	w := await(t, waited, "waiter")
	t.Logf("holder: %v after %v; waiter: %v after %v", firstLine(h.err), h.took.Round(time.Millisecond), firstLine(w.err), w.took.Round(time.Millisecond))
	want := make([]byte, abi.ResponseCap)
	want = want[:wasmtest.FaultyAnswer(want, waiter, node.RaidaID)]
	if w.err != nil || !bytes.Equal(w.resp, want) {
		t.Errorf("waiter: %x %v, want %x", w.resp, w.err, want)
	}
	if w.took >= timeout {
		t.Errorf("waiter took %v, more than RequestTimeout %v", w.took, timeout)
	}
	if st := p.Stats(); st.Timeouts != 1 || st.Faults != 1 {
		t.Errorf("stats %+v, want 1 timeout", st)
	}
	wantUnlocked(t, records, wasmtest.FaultyDen, wasmtest.FaultyPage)
	waitFor(t, "replaced", func() bool { return p.Stats().Instances == 2 })
	for i := range 4 {
		if err := serveEcho(p, uint16(i)); err != nil {
			t.Error(err)
		}
	}
}

// TestWatchdogSparesFinishedCalls: the watchdog strikes at the exact
// moment between a call's end and Serve's look at the instance (a hook
// holds the request there and runs the watchdog's check as if the call had
// overrun). The answer is good and is returned; the instance, interrupted,
// must not be reused: it is replaced, and the next request is answered
// on the new one. An interrupted wazero instance fails every later call,
// so putting it back would fail that request.
func TestWatchdogSparesFinishedCalls(t *testing.T) {
	backend, _, _ := newBackend()
	// The watchdog never fires by itself: only the hook interrupts.
	const timeout = time.Hour
	p := newPool(t, pool.Options{Size: 1, MaxQueue: 1, RequestTimeout: timeout, Backend: backend})
	var calls atomic.Int32
	p.SetAfterCall(func() {
		if calls.Add(1) == 1 {
			p.InterruptOverdue(time.Now().Add(2 * timeout))
		}
	})
	if err := serveEcho(p, 1); err != nil {
		t.Fatalf("the call that finished as the watchdog struck: %v", err)
	}
	// The next requests wait in the queue for an instance: the
	// replacement, or (the bug) the interrupted one.
	for i := range 3 {
		req := wasmtest.FaultyRequest(node, wasmtest.FaultyEcho, uint16(2+i))
		healthy(t, fmt.Sprintf("request %d after the interrupted instance", i), req, await(t, serveAsync(p, req), "request"))
	}
	if st := p.Stats(); st.Served != 4 || st.Timeouts != 0 || st.Faults != 0 || st.Replacements != 1 {
		t.Errorf("stats %+v, want 4 served, no timeout or fault, 1 replacement", st)
	}
}
