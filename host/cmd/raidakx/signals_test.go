package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"syscall"
	"testing"
	"time"
)

var quietLog = slog.New(slog.DiscardHandler)

// stopRun is one runUntilSignalled call on an injected signal channel.
type stopRun struct {
	sigs     chan os.Signal
	entered  chan context.Context // the shutdown's context, once it runs
	aborted  chan struct{}        // closed by abort
	exitCode chan int
}

// startRun runs runUntilSignalled with a shutdown that reports its
// context on entered and returns what finish returns.
func startRun(t *testing.T, timeout time.Duration, finish func(context.Context) error) *stopRun {
	t.Helper()
	r := &stopRun{sigs: make(chan os.Signal, 2), entered: make(chan context.Context, 1), aborted: make(chan struct{}), exitCode: make(chan int, 1)}
	shutdown := func(ctx context.Context) error {
		r.entered <- ctx
		return finish(ctx)
	}
	abort := func() error { close(r.aborted); return nil }
	go func() { r.exitCode <- runUntilSignalled(r.sigs, quietLog, shutdown, abort, timeout) }()
	return r
}

// code returns the exit code, failing the test if there is none within
// 10 s: the guard against a hang, not a measure.
func (r *stopRun) code(t *testing.T) int {
	t.Helper()
	select {
	case c := <-r.exitCode:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("runUntilSignalled still running after 10 s")
		return 0
	}
}

// TestRunUntilSignalled: the first signal runs the shutdown with a
// context bounded by the timeout, its outcome gives 0 or 1, and it does
// not abort.
func TestRunUntilSignalled(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want int
	}{{"clean", nil, 0}, {"failed", errors.New("pages not synced"), 1}} {
		t.Run(tt.name, func(t *testing.T) {
			r := startRun(t, time.Hour, func(context.Context) error { return tt.err })
			select {
			case <-r.entered:
				t.Fatal("shutdown before any signal")
			default:
			}
			r.sigs <- syscall.SIGTERM
			ctx := <-r.entered
			if deadline, ok := ctx.Deadline(); !ok || time.Until(deadline) > time.Hour {
				t.Errorf("shutdown context: deadline %v (set: %v), want at most an hour away", deadline, ok)
			}
			if got := r.code(t); got != tt.want {
				t.Errorf("exit code %d, want %d", got, tt.want)
			}
			select {
			case <-r.aborted:
				t.Error("aborted on one signal")
			default:
			}
		})
	}
}

// TestSecondSignalAborts: a second signal during a shutdown that waits
// (for requests in flight) aborts and returns at once with 128 + the
// signal's number, without waiting for the shutdown.
func TestSecondSignalAborts(t *testing.T) {
	for _, tt := range []struct {
		sig  syscall.Signal
		want int
	}{{syscall.SIGINT, 130}, {syscall.SIGTERM, 143}} {
		t.Run(tt.sig.String(), func(t *testing.T) {
			release := make(chan struct{})
			defer close(release)
			r := startRun(t, time.Hour, func(context.Context) error { <-release; return nil })
			r.sigs <- syscall.SIGINT
			<-r.entered
			r.sigs <- tt.sig
			if got := r.code(t); got != tt.want {
				t.Errorf("exit code %d, want %d", got, tt.want)
			}
			select {
			case <-r.aborted:
			default:
				t.Error("returned without aborting")
			}
		})
	}
}

// TestShutdownIgnoringItsContext: a shutdown that never returns is given
// up shutdownGrace after its timeout, with exit code 1.
func TestShutdownIgnoringItsContext(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	r := startRun(t, time.Millisecond, func(context.Context) error { <-release; return nil })
	r.sigs <- syscall.SIGTERM
	if got := r.code(t); got != 1 {
		t.Errorf("exit code %d, want 1", got)
	}
}
