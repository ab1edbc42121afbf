package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/raidakx/raidakx/host/client"
	"github.com/raidakx/raidakx/host/config"
	"github.com/raidakx/raidakx/host/load"
	"github.com/raidakx/raidakx/host/localnet"
)

func runLoad(args []string) int {
	fs := newFlagSet("load", "raidakx load -root DIR [flags]",
		`Drives the node of data root DIR (on 127.0.0.1, its port) with concurrent
clients, checks every answer and reports throughput and latency. It needs
the demo coins 1.1 and 1.2 of raidakx init (or raidakx net init), which no
request of the run changes: 45 decrypts with coin 1.2's file and writes den 2.`,
		"raidakx load -root var/demo -transport tcp -clients 16 -duration 20s -command 45 -type 5 -records 8 -timeout 2s",
		"raidakx load -root var/big -command 44 -spread -requests 100000")
	root := fs.String("root", "", "data root of the node (required): its config.toml gives port and ids, its demo coins the keys")
	transport := fs.String("transport", "udp", "udp or tcp")
	clients := fs.Int("clients", 16, "concurrent clients")
	duration := fs.Duration("duration", 10*time.Second, "how long to run (at most 10m)")
	requests := fs.Int64("requests", 0, "stop after this many requests (0: run for -duration)")
	command := fs.String("command", "44", "echo, 41, 42, 43, 44 or 45")
	encType := fs.Int("type", 1, "encryption type 0, 1, 4 or 5 (1 and 4 use coin 1.1, 5 coins 1.1 and 1.2)")
	records := fs.Int("records", 1, "records per 45 request (1..2519)")
	timeout := fs.Duration("timeout", time.Second, "time to wait for one answer")
	spread := fs.Bool("spread", false, "44 and 45 only: spread over every page of every denomination (44's recipients are the spread coins of a root made by init -full)")
	// -net was this flag's name before client's -net DIR took it; load
	// has no network folder, so it still means -transport here (the
	// scripts in build/ use it).
	for i, a := range args {
		if a == "-net" || a == "--net" || strings.HasPrefix(a, "-net=") || strings.HasPrefix(a, "--net=") {
			args[i] = strings.Replace(a, "net", "transport", 1)
		}
	}
	pos, code, ok := fs.parse(args)
	if !ok {
		return code
	}
	switch {
	case *root == "" || len(pos) > 0:
		return fs.fail("want -root DIR and no arguments")
	case *transport != "udp" && *transport != "tcp":
		return fs.fail("-transport %q: want udp or tcp", *transport)
	case *duration > 10*time.Minute || *records < 1 || *records > 2519:
		return fs.fail("-duration at most 10m, -records 1..2519")
	case *encType != 0 && *encType != 1 && *encType != 4 && *encType != 5:
		return fs.fail("-type %d: want 0, 1, 4 or 5", *encType)
	}
	if *spread && *command != "44" && *command != "45" {
		fmt.Fprintf(os.Stderr, "raidakx load: -spread applies to -command 44 and 45, not %s\n", *command)
		return 2
	}
	if *spread && *command == "44" {
		if err := checkSpreadRoot(*root); err != nil {
			fmt.Fprintln(os.Stderr, "raidakx load:", err)
			return 1
		}
	}
	cfg, err := config.Load(filepath.Join(*root, "config.toml"), *root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "raidakx load:", err)
		return 1
	}
	if *transport == "tcp" && *clients > cfg.MaxConnectionsPerIP {
		// Every client comes from 127.0.0.1: past the node's limit its
		// connections are refused, and the run counts them as errors.
		fmt.Fprintf(os.Stderr, "raidakx load: warning: %d TCP clients from one address, but the node's max_connections_per_ip is %d: "+
			"connections past it are refused; raise it in %s for this test\n", *clients, cfg.MaxConnectionsPerIP, filepath.Join(*root, "config.toml"))
	}
	// Loopback only: the generator never targets another host.
	n := client.Node{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.Port)), Network: *transport,
		RaidaID: byte(cfg.RaidaID), CoinID: uint16(cfg.CoinID), Timeout: *timeout}
	// Demo coin 1.1 (never changed by 45) is 44's recipient and the
	// encryption coin of types 1 and 4; 45 decrypts with coin 1.2's file
	// and writes den 2 (with -spread, any coin but these), so coin 1.2 is
	// also type 5's second coin: no 45 of the run changes either AN.
	o := load.Options{Node: n, Clients: *clients, Duration: *duration, Requests: *requests, Command: *command,
		Recipient: load.Coin{Den: 1, SN: 1}, Decryption: load.Coin{Den: 1, SN: 2}, Records: *records, Spread: *spread}
	if *requests > 0 {
		o.Duration = 0
	}
	coin11, err := coinEncryption(filepath.Join(*root, "coins", "01.1.bin"), n.RaidaID)
	var coin12 client.Encryption
	if err == nil {
		coin12, err = coinEncryption(filepath.Join(*root, "coins", "01.2.bin"), n.RaidaID)
	}
	if err == nil {
		o.DecryptionFile, err = os.ReadFile(filepath.Join(*root, "coins", "01.2.bin"))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "raidakx load: demo coins (made by raidakx init):", err)
		return 1
	}
	o.RecipientAN = coin11.AN
	switch *encType {
	case 1:
		o.Enc = coin11
	case 4:
		o.Enc = coin11
		o.Enc.Type = client.TypeOneCoin
	case 5:
		o.Enc = coin11
		o.Enc.Type = client.TypeTwoCoin
		o.Enc.Den2, o.Enc.SN2, o.Enc.AN2 = coin12.Den, coin12.SN, coin12.AN
	}
	how := ""
	if *spread {
		how = " spread"
	}
	fmt.Printf("load: %s %s%s type %d, %d clients, %s\n", *transport, *command, how, *encType, *clients, n.Addr)
	res, err := load.Run(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "raidakx load:", err)
		return 1
	}
	fmt.Print(res)
	if res.Errors > 0 {
		return 1
	}
	return 0
}

// checkSpreadRoot reports whether data root dir holds the spread coins
// that 44 -spread encrypts for, by reading the first and the last: without
// them every answer would fail its check, so say why up front. 45 -spread
// leaves those records alone; 45 without it writes den 2 and can change a
// few, so run 44 -spread on a root before any plain 45.
func checkSpreadRoot(dir string) error {
	coins := load.SpreadCoins()
	for _, c := range []load.Coin{coins[0], coins[len(coins)-1]} {
		rec, err := localnet.ReadRecord(dir, c.Den, c.SN)
		if an := load.SpreadAN(c.Den, c.SN); err != nil || !bytes.Equal(rec[:16], an[:]) {
			return fmt.Errorf("-spread 44: %s does not hold the spread coins (create it with raidakx init -full)", dir)
		}
	}
	return nil
}
