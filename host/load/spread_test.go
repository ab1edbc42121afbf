package load

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"testing"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/client"
)

func TestSpreadCoinsCoverEveryPage(t *testing.T) {
	coins := SpreadCoins()
	if len(coins) != SpreadCoinCount || SpreadCoinCount != 60_000 {
		t.Fatalf("%d spread coins (SpreadCoinCount %d), want 60,000", len(coins), SpreadCoinCount)
	}
	perPage := map[[2]int]int{}
	for i, c := range coins {
		if !abi.RecordExists(c.Den, c.SN) || !isSpreadCoin(c) {
			t.Fatalf("coin %d (%d, %d) is not a spread coin of the database", i, c.Den, c.SN)
		}
		if i > 0 && (c.Den < coins[i-1].Den || c.Den == coins[i-1].Den && c.SN <= coins[i-1].SN) {
			t.Fatalf("coins %d and %d out of order: %v %v", i-1, i, coins[i-1], c)
		}
		perPage[[2]int{int(c.Den), int(abi.Page(c.SN))}]++
	}
	for den := abi.MinDen; den <= abi.MaxDen; den++ {
		for page := range abi.PagesPerDen {
			if k := perPage[[2]int{den, page}]; k != 4 {
				t.Fatalf("den %d page %d has %d spread coins, want 4", den, page, k)
			}
		}
	}
	if first, last := coins[0], coins[len(coins)-1]; first != (Coin{-8, 0}) || last != (Coin{6, 999*1024 + 771}) {
		t.Errorf("first %v last %v, want {-8 0} and {6 1023747}", first, last)
	}
	if isSpreadCoin(Coin{1, 1}) || isSpreadCoin(Coin{1, 258}) || isSpreadCoin(Coin{7, 0}) || isSpreadCoin(Coin{0, abi.SNLimit}) {
		t.Error("isSpreadCoin accepts a coin SpreadCoins does not hold")
	}
}

func TestSpreadAN(t *testing.T) {
	// Independent of SpreadAN's code: the documented definition.
	want := sha256.Sum256(append([]byte("raidakx-spread"), 0xf8, 0x00, 0x0f, 0x9f, 0xff))
	if got := SpreadAN(-8, 0x000f9fff); !bytes.Equal(got[:], want[:16]) {
		t.Fatalf("SpreadAN(-8, 0xf9fff) = %x, want %x", got, want[:16])
	}
	if SpreadAN(3, 1024) != SpreadAN(3, 1024) {
		t.Fatal("SpreadAN is not deterministic")
	}
	seen := make(map[[16]byte]Coin, SpreadCoinCount)
	for _, c := range SpreadCoins() {
		an := SpreadAN(c.Den, c.SN)
		if other, ok := seen[an]; ok {
			t.Fatalf("coins %v and %v share AN %x", other, c, an)
		}
		seen[an] = c
	}
}

func TestSpreadTargetAvoidsKnownANs(t *testing.T) {
	keep := []Coin{{1, 1}, {1, 2}}
	dens := map[int8]bool{}
	for range 20_000 {
		c := spreadTarget(keep)
		if !abi.RecordExists(c.Den, c.SN) || isSpreadCoin(c) || slices.Contains(keep, c) {
			t.Fatalf("spreadTarget returned %v", c)
		}
		dens[c.Den] = true
	}
	if len(dens) != abi.DenCount {
		t.Errorf("20,000 targets reached %d denominations, want %d", len(dens), abi.DenCount)
	}
}

func TestSpreadOnlyFor44And45(t *testing.T) {
	for _, cmd := range []string{"echo", "41", "42", "43"} {
		o := Options{Command: cmd, Spread: true}
		if _, err := o.workload(); err == nil {
			t.Errorf("workload %s with Spread: no error", cmd)
		}
	}
}

// answer44 is the node's answer to a 44 request for a recipient with AN an.
func answer44(r *client.Request, an []byte) *client.Response {
	block := append(bytes.Clone(r.Payload[5:13]), r.Payload[:5]...)
	block = append(block, 0x12, 0x34, 0xff)
	enc := make([]byte, 16)
	client.CTR(an, r.Nonce, 0, enc, block)
	return &client.Response{Header: abi.ResponseHeader{Status: abi.StatusNoError}, Payload: enc}
}

func Test44Spread(t *testing.T) {
	o := Options{Command: "44", Spread: true}
	w, err := o.workload()
	if err != nil {
		t.Fatal(err)
	}
	pages := map[Coin]bool{}
	for range 1000 {
		r := w.build()
		if len(r.Payload) != 13 {
			t.Fatalf("payload %x, want recipient and key part (13 bytes)", r.Payload)
		}
		c := Coin{int8(r.Payload[0]), binary.BigEndian.Uint32(r.Payload[1:5])}
		if !isSpreadCoin(c) {
			t.Fatalf("recipient %v is not a spread coin", c)
		}
		pages[Coin{c.Den, abi.Page(c.SN)}] = true
		an := SpreadAN(c.Den, c.SN)
		if err := w.check(r, answer44(r, an[:])); err != nil {
			t.Fatalf("right answer refused: %v", err)
		}
		other := SpreadAN(c.Den, c.SN^1)
		if err := w.check(r, answer44(r, other[:])); err == nil {
			t.Fatal("answer under another AN accepted")
		}
	}
	if len(pages) < 900 {
		t.Errorf("1,000 requests reached %d pages", len(pages))
	}
}

func Test44OneRecipient(t *testing.T) {
	an := bytes.Repeat([]byte{7}, 16)
	o := Options{Command: "44", Recipient: Coin{1, 1}, RecipientAN: an}
	w, err := o.workload()
	if err != nil {
		t.Fatal(err)
	}
	r := w.build()
	if !bytes.Equal(r.Payload[:5], []byte{1, 0, 0, 0, 1}) || len(r.Payload) != 13 {
		t.Fatalf("payload %x, want coin 1.1 and a key part", r.Payload)
	}
	if err := w.check(r, answer44(r, an)); err != nil {
		t.Fatal(err)
	}
	if _, err := (&Options{Command: "44"}).workload(); err == nil {
		t.Error("44 without Spread or RecipientAN: no error")
	}
}

// records45 decrypts the records of a 45 request with key and returns
// their targets, failing unless each record's block names its own target.
func records45(t *testing.T, r *client.Request, key []byte, n int) []Coin {
	t.Helper()
	if len(r.Payload) != 5+26*n {
		t.Fatalf("payload of %d bytes, want %d records", len(r.Payload), n)
	}
	var coins []Coin
	for i := range n {
		rec := r.Payload[5+26*i : 5+26*(i+1)]
		c := Coin{int8(rec[5]), binary.BigEndian.Uint32(rec[6:10])}
		block := make([]byte, 16)
		client.CTR(key, r.Nonce, 0, block, rec[10:26])
		if rec[2] != byte(c.SN&1) || rec[3] != 0 || !bytes.Equal(block[8:13], rec[5:10]) || block[15] != 0xff {
			t.Fatalf("record %x decrypts to %x", rec, block)
		}
		coins = append(coins, c)
	}
	return coins
}

func Test45Spread(t *testing.T) {
	file := make([]byte, 440)
	for i := range file {
		file[i] = byte(i)
	}
	key := file[40:56]
	const n = 50
	for _, spread := range []bool{false, true} {
		o := Options{Command: "45", Spread: spread, Records: n, Recipient: Coin{1, 1},
			Decryption: Coin{1, 2}, DecryptionFile: file}
		w, err := o.workload()
		if err != nil {
			t.Fatal(err)
		}
		dens := map[int8]bool{}
		for range 100 {
			r := w.build()
			if !bytes.Equal(r.Payload[:5], []byte{1, 0, 0, 0, 2}) {
				t.Fatalf("decryption coin %x, want 1.2", r.Payload[:5])
			}
			for _, c := range records45(t, r, key, n) {
				if !abi.RecordExists(c.Den, c.SN) || spread && (isSpreadCoin(c) || c == Coin{1, 1} || c == Coin{1, 2}) {
					t.Fatalf("spread %v: record targets %v", spread, c)
				}
				dens[c.Den] = true
			}
			ok := &client.Response{Header: abi.ResponseHeader{Status: abi.StatusSuccess}, Payload: bytes.Repeat([]byte{1}, n)}
			if err := w.check(r, ok); err != nil {
				t.Fatal(err)
			}
			ok.Payload[n-1] = 0
			if err := w.check(r, ok); err == nil {
				t.Fatal("a rejected record passed the check")
			}
		}
		if want := map[bool]int{false: 1, true: abi.DenCount}[spread]; len(dens) != want || !spread && !dens[2] {
			t.Errorf("spread %v: records reached denominations %v", spread, dens)
		}
	}
}
