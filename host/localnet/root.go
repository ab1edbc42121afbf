package localnet

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/config"
	"github.com/raidakx/raidakx/host/load"
	"github.com/raidakx/raidakx/host/storage"
)

// CoinFileSize is the size of a coin file in the node format: coin id at
// bytes 2-3, the AN of RAIDA i at 40 + 16*i (RAIDA-FACTS section 7).
const CoinFileSize = 440

// Coin is a coin file: a coin's ANs on every RAIDA.
type Coin struct {
	Den  int8
	SN   uint32
	Data []byte // CoinFileSize bytes
}

// NewCoin returns coin (den, sn) of coin id coinID with a random AN for
// every RAIDA.
func NewCoin(den int8, sn uint32, coinID int) Coin {
	c := Coin{Den: den, SN: sn, Data: make([]byte, CoinFileSize)}
	binary.BigEndian.PutUint16(c.Data[2:], uint16(coinID))
	rand.Read(c.Data[40:])
	return c
}

// AN returns the coin's AN on RAIDA raidaID (a slice of Data).
func (c Coin) AN(raidaID int) []byte { return c.Data[40+16*raidaID : 56+16*raidaID] }

// FileName is the coin's file name in coins/: {den:02x}.{sn}.bin.
func (c Coin) FileName() string { return string(abi.AppendCoinFileName(nil, c.Den, c.SN)) }

// String is "DEN.SN", as the client takes a coin.
func (c Coin) String() string { return fmt.Sprintf("%d.%d", c.Den, c.SN) }

// RootOptions describe a new data root.
type RootOptions struct {
	RaidaID, CoinID, Port int
	// Config is config.toml's text; "" means config.Template(RaidaID,
	// CoinID, Port).
	Config string
	// Coins go into coins/, and each coin's record gets its AN for
	// RaidaID and the current MFS.
	Coins []Coin
	// Full also creates every page file of the 15 denominations (sparse)
	// holding the spread coins of raidakx load -spread.
	Full bool
}

// CreateRoot creates data root dir as raidakx init does: config.toml,
// Data/, coins/ and Keys/, then the records of o.Coins through the page
// store. It refuses a dir that exists and is not empty.
func CreateRoot(dir string, o RootOptions) error {
	if o.RaidaID < 0 || o.RaidaID >= abi.RaidaCount || o.CoinID < 0 || o.CoinID > 0xffff {
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
	if o.Config == "" {
		o.Config = config.Template(o.RaidaID, o.CoinID, o.Port)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(o.Config), 0o640); err != nil {
		return err
	}
	now := time.Now().UTC()
	mfs := abi.MFS(now.Year(), int(now.Month()))
	if o.Full { // before the page store opens, so that it finds the node's layout
		if err := initFullDatabase(dir, mfs); err != nil {
			return err
		}
	}
	pages, err := storage.OpenPageStore(dir, storage.PageStoreOptions{})
	if err != nil {
		return err
	}
	for _, c := range o.Coins {
		if len(c.Data) != CoinFileSize {
			pages.Close()
			return fmt.Errorf("coin %s: file of %d bytes, want %d", c, len(c.Data), CoinFileSize)
		}
		if err := os.WriteFile(filepath.Join(dir, "coins", c.FileName()), c.Data, 0o640); err != nil {
			pages.Close()
			return err
		}
		var rec storage.Record
		copy(rec[:16], c.AN(o.RaidaID))
		rec[16] = mfs
		page := abi.Page(c.SN)
		if err := pages.Lock(c.Den, page); err != nil {
			pages.Close()
			return err
		}
		err := pages.Write(c.Den, c.SN, &rec)
		pages.Unlock(c.Den, page)
		if err != nil {
			pages.Close()
			return err
		}
	}
	return pages.Close()
}

// PagePath returns the page file of (den, page) in data root dir, in the
// node's layout (storage.PagePath).
func PagePath(dir string, den int8, page uint32) string {
	return filepath.Join(dir, "Data", filepath.FromSlash(storage.PagePath(storage.PageKey{Den: den, Page: page})))
}

// ReadRecord reads coin (den, sn)'s 17-byte record from its page file in
// data root dir, as the page store left it; a missing page reads as
// zeros. Only for a data root no process is serving.
func ReadRecord(dir string, den int8, sn uint32) ([]byte, error) {
	rec := make([]byte, abi.RecordSize)
	f, err := os.Open(PagePath(dir, den, abi.Page(sn)))
	if errors.Is(err, os.ErrNotExist) {
		return rec, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.ReadAt(rec, int64(sn%abi.RecordsPerPage)*abi.RecordSize); err != nil {
		return nil, err
	}
	return rec, nil
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
			path := PagePath(dir, den, page)
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
