package localnet

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/load"
	"github.com/raidakx/raidakx/host/storage"
)

func TestCreateRootFull(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "root")
	if err := CreateRoot(dir, RootOptions{RaidaID: 14, CoinID: 6, Port: 18000, Full: true, Coins: []Coin{NewCoin(1, 1, 6), NewCoin(1, 2, 6)}}); err != nil {
		t.Fatal(err)
	}
	var files int
	err := filepath.WalkDir(filepath.Join(dir, "Data"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			if info.Mode().Perm() != 0o750 && path != filepath.Join(dir, "Data") {
				t.Errorf("%s: mode %v, want 0750", path, info.Mode().Perm())
			}
			return nil
		}
		files++
		if info.Size() != storage.PageFileSize || info.Mode().Perm() != 0o640 || !strings.HasSuffix(path, ".bin") {
			t.Errorf("%s: %d bytes, mode %v; want a 17,408-byte page file, mode 0640", path, info.Size(), info.Mode().Perm())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files != 15_000 {
		t.Errorf("%d page files, want 15,000", files)
	}

	now := time.Now().UTC()
	mfs := abi.MFS(now.Year(), int(now.Month()))
	record := func(den int8, sn uint32) []byte {
		t.Helper()
		page, err := os.ReadFile(PagePath(dir, den, abi.Page(sn)))
		if err != nil {
			t.Fatal(err)
		}
		off := sn % abi.RecordsPerPage * abi.RecordSize
		return page[off : off+abi.RecordSize]
	}
	coins := load.SpreadCoins()
	for _, c := range []load.Coin{coins[0], coins[1], coins[4001], coins[len(coins)-1], {Den: 1, SN: 771}, {Den: -1, SN: 500*1024 + 514}} {
		an := load.SpreadAN(c.Den, c.SN)
		if got := record(c.Den, c.SN); !bytes.Equal(got[:16], an[:]) || got[16] != mfs {
			t.Errorf("spread coin %v: record %x, want AN %x and MFS %d", c, got, an, mfs)
		}
	}
	if got := record(6, 999*1024+772); !bytes.Equal(got, make([]byte, abi.RecordSize)) {
		t.Errorf("record 6.1023748 is %x, want none (zeros)", got)
	}
	// The demo coins went through the page store onto page 1.0, beside
	// its spread coins.
	coin, err := os.ReadFile(filepath.Join(dir, "coins", "01.1.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if got := record(1, 1); !bytes.Equal(got[:16], coin[40+16*14:56+16*14]) || got[16] != mfs {
		t.Errorf("demo coin 1.1: record %x, want its AN for RAIDA 14", got)
	}
	if got, an := record(1, 0), load.SpreadAN(1, 0); !bytes.Equal(got[:16], an[:]) {
		t.Errorf("spread coin 1.0 after the demo coins: record %x, want AN %x", got, an)
	}
}

func TestCreateRootHasNoPages(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "root")
	if err := CreateRoot(dir, RootOptions{CoinID: 6, Port: 18000}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(PagePath(dir, -8, 0)); !os.IsNotExist(err) {
		t.Errorf("a root without Full got page f8/00/0000.bin (%v)", err)
	}
}
