package main

import (
	"fmt"
	"os"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/load"
	"github.com/raidakx/raidakx/host/localnet"
)

func runInit(args []string) int {
	fs := newFlagSet("init", "raidakx init [flags] DIR",
		`Creates data root DIR (which must not exist or be empty): config.toml,
Data/, coins/ and Keys/, and two demo coins: 1.1 (raidakx client -type 1
encrypts under it) and 1.2 (the recipient of 44 and 45). Their files in
coins/ hold a random AN for every RAIDA; this node's records hold its own.`,
		"raidakx init /srv/raida14 -raida-id 14",
		"raidakx init -raida-id 3 -coin-id 6 -port 18003 var/raida03",
		"raidakx init -full var/big")
	raidaID := fs.Int("raida-id", 0, "this node's RAIDA id, 0..24")
	coinID := fs.Int("coin-id", 6, "coin id, 0..65535")
	port := fs.Int("port", 18000, "TCP and UDP port")
	full := fs.Bool("full", false, "also create every page file of the 15 denominations (sparse) and the spread coins of raidakx load -spread")
	pos, code, ok := fs.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return fs.fail("want one folder, got %d arguments", len(pos))
	}
	// Demo coins: (1, 1) for type-1 encryption, (1, 2) as a recipient
	// for 44 and 45.
	coins := []localnet.Coin{localnet.NewCoin(1, 1, *coinID), localnet.NewCoin(1, 2, *coinID)}
	if err := localnet.CreateRoot(pos[0], localnet.RootOptions{RaidaID: *raidaID, CoinID: *coinID, Port: *port, Coins: coins, Full: *full}); err != nil {
		fmt.Fprintln(os.Stderr, "raidakx init:", err)
		return 1
	}
	fmt.Printf("created data root %s (raida_id %d, coin_id %d, port %d, demo coins 1.1 and 1.2)\n", pos[0], *raidaID, *coinID, *port)
	if *full {
		fmt.Printf("with all %d page files and %d spread coins\n", abi.PageCount, load.SpreadCoinCount)
	}
	return 0
}
