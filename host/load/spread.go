package load

import (
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
	"slices"

	"github.com/raidakx/raidakx/abi"
)

// Spread loads reach every page of the coin database instead of one coin,
// so that they measure the page cache, the journal and write-back at the
// size of a real node. 45 needs no preparation (it sets half of any
// record's AN); 44 encrypts under the recipient's AN as the node stores it,
// so raidakx init -full gives the spread coins a known AN: SpreadAN, four
// coins on every page of every denomination.

// spreadRecords are the records (sn % 1024) of each page that hold a
// spread coin: four, a quarter page apart, so that a page's spread records
// sit in different 4 KiB blocks of its file.
var spreadRecords = [...]uint32{0, 257, 514, 771}

// SpreadCoinCount is the number of spread coins: 4 per page of every
// denomination, 60,000.
const SpreadCoinCount = abi.PageCount * len(spreadRecords)

// spreadCoin returns spread coin i (0 <= i < SpreadCoinCount), numbered by
// den, then page, then record, so that SpreadCoins is sorted.
func spreadCoin(i int) Coin {
	rec := spreadRecords[i%len(spreadRecords)]
	i /= len(spreadRecords)
	page := uint32(i % abi.PagesPerDen)
	return Coin{Den: int8(abi.MinDen + i/abi.PagesPerDen), SN: page*abi.RecordsPerPage + rec}
}

// SpreadCoins returns the coins raidakx init -full writes with SpreadAN
// and 44 -spread picks its recipients from: records 0, 257, 514 and 771 of
// every page of every denomination, sorted by den and sn.
func SpreadCoins() []Coin {
	coins := make([]Coin, SpreadCoinCount)
	for i := range coins {
		coins[i] = spreadCoin(i)
	}
	return coins
}

// isSpreadCoin reports whether c is one of SpreadCoins.
func isSpreadCoin(c Coin) bool {
	return abi.RecordExists(c.Den, c.SN) && slices.Contains(spreadRecords[:], c.SN%abi.RecordsPerPage)
}

// SpreadAN returns the AN of spread coin (den, sn): the first 16 bytes of
// SHA-256("raidakx-spread" || den || sn big-endian). A hash rather than a
// table lets init and the load generator agree on 60,000 ANs without
// sharing a file, and no two coins share an AN, so a 44 answer encrypted
// for the wrong recipient never passes the check.
func SpreadAN(den int8, sn uint32) [16]byte {
	var b [len("raidakx-spread") + 5]byte
	n := copy(b[:], "raidakx-spread")
	b[n] = byte(den)
	binary.BigEndian.PutUint32(b[n+1:], sn)
	sum := sha256.Sum256(b[:])
	return [16]byte(sum[:16])
}

// spreadTarget returns a uniformly random coin of the database (den -8..6,
// sn 0..1,023,999) for a 45 -spread record, except the spread coins and
// the coins in keep: a 45 changes half of its record's AN, and those ANs
// must stay what the load generator knows (44 -spread's recipients, the
// type-1 encryption coin, 44's recipient). The exception is 0.4% of the
// coins; every page is still reached.
func spreadTarget(keep []Coin) Coin {
	for {
		c := Coin{Den: int8(abi.MinDen + rand.IntN(abi.DenCount)), SN: rand.Uint32N(abi.SNLimit)}
		if !isSpreadCoin(c) && !slices.Contains(keep, c) {
			return c
		}
	}
}

// randomSpreadCoin returns one of SpreadCoins, uniformly.
func randomSpreadCoin() Coin { return spreadCoin(rand.IntN(SpreadCoinCount)) }
