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
	"github.com/raidakx/raidakx/host/load"
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
	full := fs.Bool("full", false, "also create every page file of the 15 denominations (sparse) and the spread coins of raidakx load -spread")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: raidakx init [-raida-id N] [-coin-id N] [-port N] [-full] DIR")
		return 2
	}
	if err := initDataRoot(fs.Arg(0), *raidaID, *coinID, *port, *full); err != nil {
		fmt.Fprintln(os.Stderr, "raidakx init:", err)
		return 1
	}
	fmt.Printf("created data root %s (raida_id %d, coin_id %d, port %d, demo coins 1.1 and 1.2)\n", fs.Arg(0), *raidaID, *coinID, *port)
	if *full {
		fmt.Printf("with all %d page files and %d spread coins\n", abi.PageCount, load.SpreadCoinCount)
	}
	return 0
}

func initDataRoot(dir string, raidaID, coinID, port int, full bool) error {
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
	now := time.Now().UTC()
	if full { // before the page store opens, so that it finds the node's layout
		if err := initFullDatabase(dir, abi.MFS(now.Year(), int(now.Month()))); err != nil {
			return err
		}
	}
	pages, err := storage.OpenPageStore(dir, storage.PageStoreOptions{})
	if err != nil {
		return err
	}
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

// pageFilePath returns the page file of (den, page) in data root dir, in
// the node's layout (storage.PagePath).
func pageFilePath(dir string, den int8, page uint32) string {
	return filepath.Join(dir, "Data", filepath.FromSlash(storage.PagePath(storage.PageKey{Den: den, Page: page})))
}

// initFullDatabase creates every page file of the coin database and writes
// load.SpreadAN, with MFS mfs, into the records of load.SpreadCoins, so
// that raidakx load -spread reaches every page and knows the AN of each 44
// recipient it picks. The files are sparse (their size is set, their
// zeros are holes), so this takes a moment rather than writing 261 MB. It
// writes the node's layout itself instead of going through the page store:
// a data root made this way is a plain node data root, with no journal.
func initFullDatabase(dir string, mfs byte) error {
	spread := load.SpreadCoins()
	for den := int8(abi.MinDen); den <= abi.MaxDen; den++ {
		for page := uint32(0); page < abi.PagesPerDen; page++ {
			path := pageFilePath(dir, den, page)
			if page%256 == 0 {
				if err := mkdirAllMode(filepath.Dir(path), 0o750); err != nil {
					return err
				}
			}
			var recs []load.Coin
			for len(spread) > 0 && spread[0].Den == den && abi.Page(spread[0].SN) == page {
				recs, spread = append(recs, spread[0]), spread[1:]
			}
			if err := writeSparsePage(path, recs, mfs); err != nil {
				return err
			}
		}
	}
	if len(spread) > 0 {
		return fmt.Errorf("spread coin %v is on no page", spread[0])
	}
	return nil
}

// writeSparsePage creates page file path of 17,408 bytes (mode 0640
// whatever the umask) and writes each coin's record: its spread AN and
// mfs.
func writeSparsePage(path string, coins []load.Coin, mfs byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return err
	}
	err = f.Chmod(0o640)
	if err == nil {
		err = f.Truncate(storage.PageFileSize)
	}
	for _, c := range coins {
		if err != nil {
			break
		}
		an := load.SpreadAN(c.Den, c.SN)
		_, err = f.WriteAt(append(an[:], mfs), int64(c.SN%abi.RecordsPerPage)*abi.RecordSize)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// mkdirAllMode creates folder path and its missing parents, each with
// mode perm whatever the umask.
func mkdirAllMode(path string, perm os.FileMode) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	if err := mkdirAllMode(filepath.Dir(path), perm); err != nil {
		return err
	}
	if err := os.Mkdir(path, perm); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	return os.Chmod(path, perm)
}
