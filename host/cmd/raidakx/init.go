package main

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/config"
	"github.com/raidakx/raidakx/host/storage"
)

// Demo coins made by init: (1, 1) for type-1 encryption, (1, 2) as a
// recipient for 44 and 45. Their files hold a random AN for every RAIDA
// and this node's records hold the AN for its own id.
var demoCoins = []struct {
	den int8
	sn  uint32
}{{1, 1}, {1, 2}}

func runInit(args []string) int {
	fs := flag.NewFlagSet("init", flag.ContinueOnError)
	raidaID := fs.Int("raida-id", 0, "this node's RAIDA id")
	coinID := fs.Int("coin-id", 6, "coin id")
	port := fs.Int("port", 18000, "TCP and UDP port")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: raidakx init [-raida-id N] [-coin-id N] [-port N] DIR")
		return 2
	}
	if err := initDataRoot(fs.Arg(0), *raidaID, *coinID, *port); err != nil {
		fmt.Fprintln(os.Stderr, "raidakx init:", err)
		return 1
	}
	fmt.Printf("created data root %s (raida_id %d, coin_id %d, port %d, demo coins 1.1 and 1.2)\n", fs.Arg(0), *raidaID, *coinID, *port)
	return 0
}

func initDataRoot(dir string, raidaID, coinID, port int) error {
	if raidaID < 0 || raidaID >= abi.RaidaCount || coinID < 0 || coinID > 0xffff {
		return errors.New("raida-id must be 0..24 and coin-id 0..65535")
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s exists and is not empty; refusing to overwrite it", dir)
	}
	for _, d := range []string{"", "Data", "coins", "Keys"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o750); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(config.Template(raidaID, coinID, port)), 0o640); err != nil {
		return err
	}
	pages, err := storage.OpenPageStore(dir, storage.PageStoreOptions{})
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	for _, c := range demoCoins {
		coin := make([]byte, 440)
		binary.BigEndian.PutUint16(coin[2:], uint16(coinID))
		rand.Read(coin[40:])
		name := string(abi.AppendCoinFileName(nil, c.den, c.sn))
		if err := os.WriteFile(filepath.Join(dir, "coins", name), coin, 0o640); err != nil {
			return err
		}
		var rec storage.Record
		copy(rec[:16], coin[40+16*raidaID:])
		rec[16] = abi.MFS(now.Year(), int(now.Month()))
		page := abi.Page(c.sn)
		if err := pages.Lock(c.den, page); err != nil {
			return err
		}
		err := pages.Write(c.den, c.sn, &rec)
		pages.Unlock(c.den, page)
		if err != nil {
			return err
		}
	}
	return pages.Close()
}
