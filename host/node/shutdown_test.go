package node

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/engine"
	"github.com/raidakx/raidakx/host/imports"
	"github.com/raidakx/raidakx/host/pool"
	"github.com/raidakx/raidakx/host/server"
	"github.com/raidakx/raidakx/wasm/wasmtest"
)

var quiet = slog.New(slog.DiscardHandler)

// hangingModule is an engine.Module whose instances' Handle, and whose
// own Close when closeHangs, block until release is closed: a request or
// a close that never ends (a stuck disk, a call the engine fails to stop).
type hangingModule struct {
	entered    chan struct{} // a value each time a Handle begins
	release    chan struct{}
	closeHangs bool
}

func (m *hangingModule) Instantiate(*imports.Env, abi.Config) (engine.Instance, error) {
	return hangingInstance{m}, nil
}

func (m *hangingModule) Close() error {
	if m.closeHangs {
		<-m.release
	}
	return nil
}

type hangingInstance struct{ m *hangingModule }

func (i hangingInstance) Handle(req, resp []byte) (int, error) {
	i.m.entered <- struct{}{}
	<-i.m.release
	return copy(resp, req[:abi.HeaderSize]), nil
}

func (hangingInstance) Interrupt()   {}
func (hangingInstance) Close() error { return nil }

// hangingNode returns a node serving mod on a free port of 127.0.0.1, with
// no data root: what Shutdown and Abort do with the server, the pool and
// the module.
func hangingNode(t *testing.T, mod *hangingModule) *Node {
	t.Helper()
	p, err := pool.New(mod, pool.Options{Size: 1, MaxQueue: 1, Node: abi.Config{RaidaID: 3, CoinID: 6},
		Backend: &imports.Backend{Logger: quiet}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.Start(server.Options{Listen: "127.0.0.1", UDPReaders: 1, MaxConnections: 4, MaxConnectionsPerIP: 4,
		ReadTimeout: 10 * time.Second, IOTimeout: 10 * time.Second, Handler: p, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { close(mod.release) })
	return &Node{mod: mod, pool: p, srv: srv, logger: quiet}
}

// sendUDP sends req to n's port and returns at once.
func sendUDP(t *testing.T, n *Node, req []byte) {
	t.Helper()
	c, err := net.Dial("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(n.Port())))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
}

// await returns what done delivers, failing the test after 10 s: the
// guard against a hang, not a measure.
func await(t *testing.T, what string, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: still running after 10 s", what)
		return nil
	}
}

// TestShutdownBounded: Shutdown returns once its context ends, with an
// error wrapping the context's, even when what it waits for never ends:
// a request stuck in the module (the server's drain and the pool's close
// wait for it) or a module whose Close hangs (as the final write-back can
// on a stuck disk). Neither part has a bound of its own.
func TestShutdownBounded(t *testing.T) {
	for _, tt := range []struct {
		name       string
		stuck      bool // a request is in the module
		closeHangs bool
	}{{"request stuck", true, false}, {"close hangs", false, true}} {
		t.Run(tt.name, func(t *testing.T) {
			mod := &hangingModule{entered: make(chan struct{}, 1), release: make(chan struct{}), closeHangs: tt.closeHangs}
			n := hangingNode(t, mod)
			if tt.stuck {
				sendUDP(t, n, wasmtest.FaultyRequest(abi.Config{RaidaID: 3, CoinID: 6}, wasmtest.FaultyEcho, 1))
				<-mod.entered
			}
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- n.Shutdown(ctx) }()
			if err := await(t, "Shutdown", done); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Shutdown: %v, want an error wrapping context.DeadlineExceeded", err)
			}
		})
	}
}

// TestAbortDoesNotWait: with a request stuck in the module, Abort returns
// without waiting for it, and the node no longer accepts connections.
func TestAbortDoesNotWait(t *testing.T) {
	mod := &hangingModule{entered: make(chan struct{}, 1), release: make(chan struct{})}
	n := hangingNode(t, mod)
	sendUDP(t, n, wasmtest.FaultyRequest(abi.Config{RaidaID: 3, CoinID: 6}, wasmtest.FaultyEcho, 1))
	<-mod.entered
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(n.Port()))
	done := make(chan error, 1)
	go func() { done <- n.Abort() }()
	if err := await(t, "Abort", done); err != nil {
		t.Fatalf("Abort: %v", err)
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Error("TCP connection accepted after Abort")
	}
	// Abort after a Shutdown that gave up: the sockets it closed are no
	// error.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n.Shutdown(ctx)
	if err := n.Abort(); err != nil {
		t.Errorf("Abort after Shutdown: %v", err)
	}
}
