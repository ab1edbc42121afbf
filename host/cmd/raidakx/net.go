package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/raidakx/raidakx/host/localnet"
)

const netAbout = `actions:
  init DIR    create a local RAIDA: DIR/raida00 … raida24, one data root per
              node (port = base + RAIDA id), and DIR/wallet with the test
              coins 1.1 … 1.N, whose AN differs on every node
  serve DIR   serve every node of DIR in this process (one compiled module,
              one log stream tagged raida_id, one /metrics labelled
              raida_id); SIGINT or SIGTERM stops them all
Then: raidakx client -net DIR echo | exchange (raidakx client -h).`

func runNet(args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case "init":
			return runNetInit(args[1:])
		case "serve":
			return runNetServe(args[1:])
		}
	}
	fs := newFlagSet("net", "raidakx net init|serve DIR [flags]", netAbout,
		"raidakx net init var/raida", "raidakx net serve var/raida")
	pos, code, ok := fs.parse(args)
	if !ok {
		return code
	}
	if len(pos) == 0 {
		return fs.fail("no action: init or serve")
	}
	return fs.fail("unknown action %q: init or serve", pos[0])
}

func runNetInit(args []string) int {
	fs := newFlagSet("net init", "raidakx net init DIR [flags]",
		"Creates local RAIDA DIR, which must not exist or be empty.",
		"raidakx net init var/raida",
		"raidakx net init var/small -nodes 5 -port 19000 -coins 3 -coin-id 7")
	nodes := fs.Int("nodes", localnet.DefaultNodes, "nodes, 1..25 (RAIDA ids 0..nodes-1)")
	port := fs.Int("port", localnet.DefaultPort, "port of RAIDA 0; RAIDA i serves port+i")
	coins := fs.Int("coins", localnet.DefaultCoins, "test coins 1.1 … 1.N, 2..1000")
	coinID := fs.Int("coin-id", localnet.DefaultCoinID, "coin id of every node")
	pos, code, ok := fs.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return fs.fail("want one folder, got %d arguments", len(pos))
	}
	n, err := localnet.Init(pos[0], localnet.InitOptions{Nodes: *nodes, Port: *port, Coins: *coins, CoinID: *coinID})
	if err != nil {
		fmt.Fprintln(os.Stderr, "raidakx net init:", err)
		return 1
	}
	fmt.Printf("created local RAIDA %s: %d nodes, coin_id %d, %d test coins\n\n", n.Dir, len(n.Nodes), *coinID, len(n.Wallet))
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RAIDA\taddress\tdata root")
	for _, nd := range n.Nodes {
		fmt.Fprintf(tw, "%d\t%s\t%s\n", nd.ID, nd.Addr, nd.Root)
	}
	tw.Flush()
	fmt.Printf("\nwallet %s (a coin's file holds its AN on every RAIDA; each node's coins/ has a copy):\n", localnet.WalletDir(n.Dir))
	tw = tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "coin\tfile\tAN on RAIDA 0\tAN on RAIDA 1\t…")
	for _, c := range n.Wallet {
		fmt.Fprintf(tw, "%s\t%s\t%x\t%x\t…\n", c, c.FileName(), c.AN(0), c.AN(min(1, len(n.Nodes)-1)))
	}
	tw.Flush()
	fmt.Printf("\nnext: raidakx net serve %s\n", n.Dir)
	return 0
}

func runNetServe(args []string) int {
	fs := newFlagSet("net serve", "raidakx net serve DIR [flags]",
		`Serves every node of local RAIDA DIR in this process until SIGINT or SIGTERM.
The module is compiled once, under RAIDA 0's engine, memory_limit and
cache_dir; the process's Go memory limit is the sum of the nodes'
go_memory_limit (GOMEMLIMIT wins). The nodes' metrics_listen is not read.`,
		"raidakx net serve var/raida",
		"raidakx net serve var/raida -wasm build/keyexchange.wasm -metrics-listen 127.0.0.1:9200 -log-json -debug")
	wasmPath := fs.String("wasm", defaultWasm(), "module file")
	metricsListen := fs.String("metrics-listen", "127.0.0.1:9114", `one Prometheus /metrics for every node, labelled raida_id; "" for none`)
	logJSON := fs.Bool("log-json", false, "log JSON lines instead of text")
	debugLog := fs.Bool("debug", false, "log debug messages")
	pos, code, ok := fs.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return fs.fail("want one folder, got %d arguments", len(pos))
	}
	logger := newLogger(*logJSON, *debugLog)
	n, err := localnet.Open(pos[0])
	if err != nil {
		logger.Error("cannot start", "err", err)
		return 2
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(n.GoMemoryLimit())
	}
	ctx, sigs, release := catchSignals()
	defer release()
	srv, err := localnet.Serve(ctx, n, localnet.ServeOptions{WasmPath: *wasmPath, MetricsListen: *metricsListen, Logger: logger})
	if err != nil {
		logger.Error("cannot start", "err", err)
		return 1
	}
	logger.Info("serving local RAIDA", "dir", n.Dir, "nodes", len(n.Nodes), "ports", fmt.Sprintf("%d..%d", n.Nodes[0].Config.Port, n.Nodes[len(n.Nodes)-1].Config.Port))
	return runUntilSignalled(sigs, logger, srv.Shutdown, srv.Abort, n.Nodes[0].Config.ShutdownTimeout.D())
}

// newLogger returns the text (or JSON) logger of serve and net serve.
func newLogger(json, debugLevel bool) *slog.Logger {
	level := slog.LevelInfo
	if debugLevel {
		level = slog.LevelDebug
	}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})
	if json {
		h = slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level})
	}
	return slog.New(h)
}

// netClient runs raidakx client -net DIR: echo or exchange.
func netClient(dir string, args []string, to int, via string, typ byte, transport string, timeout time.Duration) int {
	n, err := localnet.Open(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "raidakx client:", err)
		return 2
	}
	switch args[0] {
	case "echo":
		if len(args) != 1 {
			fmt.Fprintln(os.Stderr, "raidakx client: -net DIR echo takes no arguments")
			return 2
		}
		return netEcho(n, transport, timeout)
	case "exchange":
		o, err := exchangeArgs(args[1:], to, via)
		if err != nil {
			fmt.Fprintln(os.Stderr, "raidakx client: exchange:", err)
			fmt.Fprintln(os.Stderr, "usage: raidakx client -net DIR exchange -to T -via A,B DEN SN [-type 0|1]")
			return 2
		}
		o.Type, o.Transport, o.Timeout = typ, transport, timeout
		o.Step = func(s string) { fmt.Println(s) }
		an, err := n.Exchange(o)
		if bad := (*localnet.BadInputError)(nil); errors.As(err, &bad) {
			fmt.Fprintf(os.Stderr, "raidakx client: exchange: %v\nnothing was changed\n", err)
			return 2
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "raidakx client: exchange:", err)
			return 1
		}
		fmt.Printf("coin %d.%d on RAIDA %d now has AN %x\n", o.Den, o.SN, o.To, an)
		return 0
	}
	fmt.Fprintf(os.Stderr, "raidakx client: with -net the commands are echo and exchange, not %q\n", args[0])
	return 2
}

// exchangeArgs reads exchange's DEN SN, -to and -via.
func exchangeArgs(args []string, to int, via string) (localnet.ExchangeOptions, error) {
	var o localnet.ExchangeOptions
	if len(args) != 2 {
		return o, fmt.Errorf("want DEN SN, got %d arguments", len(args))
	}
	c, err := parseCoin(args[0] + "." + args[1])
	if err != nil {
		return o, fmt.Errorf("DEN SN %s %s: want a denomination and a serial number, e.g. 1 5", args[0], args[1])
	}
	a, b, ok := strings.Cut(via, ",")
	ia, erra := strconv.Atoi(a)
	ib, errb := strconv.Atoi(b)
	if to < 0 || !ok || erra != nil || errb != nil {
		return o, fmt.Errorf("want -to T and -via A,B (RAIDA ids), e.g. -to 3 -via 1,2")
	}
	return localnet.ExchangeOptions{To: to, A: ia, B: ib, Den: c.Den, SN: c.SN}, nil
}

// netEcho prints one row per node and returns 1 if any failed.
func netEcho(n *localnet.Net, transport string, timeout time.Duration) int {
	res := n.Echo(transport, timeout)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RAIDA\taddress\tstatus\tlatency")
	failed := 0
	for _, r := range res {
		switch {
		case r.Err != nil:
			fmt.Fprintf(tw, "%d\t%s\tFAILED: %v\t%s\n", r.Node.ID, r.Node.Addr, r.Err, r.Latency.Round(time.Microsecond))
		case !r.OK():
			fmt.Fprintf(tw, "%d\t%s\tFAILED: %d %s\t%s\n", r.Node.ID, r.Node.Addr, r.Status, r.Status, r.Latency.Round(time.Microsecond))
		default:
			fmt.Fprintf(tw, "%d\t%s\t%d %s\t%s\n", r.Node.ID, r.Node.Addr, r.Status, r.Status, r.Latency.Round(time.Microsecond))
		}
		if !r.OK() {
			failed++
		}
	}
	tw.Flush()
	fmt.Printf("%d of %d nodes answered over %s\n", len(res)-failed, len(res), transport)
	if failed > 0 {
		return 1
	}
	return 0
}
