package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// shutdownGrace is how long runUntilSignalled waits past the shutdown's
// bound for a shutdown that ignores its context, before giving up on it.
const shutdownGrace = time.Second

// catchSignals catches SIGINT and SIGTERM from its call on, in place of
// their default action (exiting at once): ctx ends at the first, so that
// a start under way gives up, and sigs delivers them (the first two) to
// runUntilSignalled. release stops catching them.
func catchSignals() (ctx context.Context, sigs <-chan os.Signal, release func()) {
	caught := make(chan os.Signal, 2)
	signal.Notify(caught, syscall.SIGINT, syscall.SIGTERM)
	ctx, cancel := context.WithCancel(context.Background())
	relay := make(chan os.Signal, 2)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for sig := range caught {
			cancel()
			select {
			case relay <- sig:
			default: // two are pending already: they decide
			}
		}
	}()
	return ctx, relay, func() {
		signal.Stop(caught) // once it returns, nothing more is sent on caught
		close(caught)
		<-done
		cancel()
	}
}

// runUntilSignalled waits for a signal on sigs (catchSignals), then stops
// gracefully: shutdown runs with a context that ends after timeout, and
// the exit code is 0 if it succeeds, 1 if not. A second signal meanwhile
// runs abort and returns at once, with 128 + the signal's number (130 for
// SIGINT, 143 for SIGTERM), as a shell reports a process a signal
// stopped. A shutdown that overruns its context by shutdownGrace is
// abandoned with 1. serve calls it for its node, net serve for all of its
// nodes at once.
func runUntilSignalled(sigs <-chan os.Signal, logger *slog.Logger, shutdown func(context.Context) error, abort func() error, timeout time.Duration) int {
	sig := <-sigs
	logger.Info("stopping: finishing requests in flight; a second signal stops at once", "signal", sig.String(), "timeout", timeout)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- shutdown(ctx) }()
	overrun := time.NewTimer(timeout + shutdownGrace)
	defer overrun.Stop()
	select {
	case err := <-done:
		if err != nil {
			logger.Error("shutdown", "err", err)
			return 1
		}
		logger.Info("stopped")
		return 0
	case sig := <-sigs:
		logger.Warn("second signal: stopping without waiting for requests in flight; every acknowledged change is in the journal, which the next start replays",
			"signal", sig.String())
		if err := abort(); err != nil {
			logger.Error("abort", "err", err)
		}
		return signalExitCode(sig)
	case <-overrun.C:
		logger.Error("shutdown did not return within its timeout; exiting anyway", "timeout", timeout)
		return 1
	}
}

// signalExitCode is 128 + sig's number, or 1 for a signal without one.
func signalExitCode(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 1
}
