// Package enginetest is the node state and the requests that the engine
// benchmarks (host/engines) and the interruption-check counts
// (host/engine/wazero) share, so that their figures describe the same
// work. It is imported by tests only.
package enginetest

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/client"
	"github.com/raidakx/raidakx/host/storage"
)

// Node is the node the requests are addressed to.
var Node = abi.Config{RaidaID: 14, CoinID: 6}

// Type1 is the coin the type-1 requests are encrypted with: (1, 5), AN
// 0x15 repeated.
var Type1 = client.Encryption{Den: 1, SN: 5, AN: bytes.Repeat([]byte{0x15}, 16)}

// State returns in-memory storage with coin Type1, recipient (1, 7), the
// decryption coin file coins/02.5000.bin (its 25 ANs random) and one key,
// and the coin file's bytes.
func State() (*storage.MemRecords, *storage.MemFiles, []byte) {
	var r15, r17 storage.Record
	copy(r15[:], Type1.AN)
	copy(r17[:], bytes.Repeat([]byte{0x17}, 16))
	recs := storage.NewMemRecords(map[storage.RecordKey]storage.Record{{Den: 1, SN: 5}: r15, {Den: 1, SN: 7}: r17})
	coin := make([]byte, 440)
	binary.BigEndian.PutUint16(coin[2:], Node.CoinID)
	rand.Read(coin[40:])
	files := storage.NewMemFiles(map[string][]byte{
		"coins/02.5000.bin":                     coin,
		"Keys/00000000000000000000000000000000": make([]byte, 133),
	})
	return recs, files, coin
}

// Commands names the requests of Requests, in the order reports list
// them: echo (type 0), then type-1 41 to 45, 45 with 1, 100 and 2,519
// records.
var Commands = []string{"echo", "41", "42", "43", "44", "45x1", "45x100", "45x2519"}

// Requests returns the request of each of Commands for the state State
// made with coin file coin. Every one is answered 250 or, for 44, 0.
func Requests(coin []byte) map[string][]byte {
	node := client.Node{RaidaID: Node.RaidaID, CoinID: Node.CoinID}
	decrypt := func(n int) []byte {
		r := client.NewRequest(4, 45, nil, Type1)
		p := []byte{2, 0, 0, 0x13, 0x88} // coin file 02.5000.bin
		for i := range n {
			sn := uint32(i * 397 % abi.SNLimit)
			block := make([]byte, 16)
			block[8] = 3
			binary.BigEndian.PutUint32(block[9:], sn)
			block[15] = 0xff
			p = append(p, 0, 6, byte(i&1), 0, 0, 3) // coin id, split, RAIDA 0, den 3
			p = binary.BigEndian.AppendUint32(p, sn)
			enc := make([]byte, 16)
			client.CTR(coin[40:56], r.Nonce, 0, enc, block)
			p = append(p, enc...)
		}
		r.Payload = p
		return r.Encode(node)
	}
	post := make([]byte, 167)
	post[0], post[166] = 1, 100
	return map[string][]byte{
		"echo":    client.NewRequest(0, 0, nil, client.Encryption{}).Encode(node),
		"41":      client.NewRequest(4, 41, post, Type1).Encode(node),
		"42":      client.NewRequest(4, 42, nil, Type1).Encode(node),
		"43":      client.NewRequest(4, 43, make([]byte, 37), Type1).Encode(node),
		"44":      client.NewRequest(4, 44, []byte{1, 0, 0, 0, 7, 1, 2, 3, 4, 5, 6, 7, 8}, Type1).Encode(node),
		"45x1":    decrypt(1),
		"45x100":  decrypt(100),
		"45x2519": decrypt(2519),
	}
}

// Answered reports whether resp[:n] is a full answer with the status a
// benchmark request gets: 250, or 0 for 44.
func Answered(resp []byte, n int) bool {
	return n >= abi.HeaderSize && (resp[abi.OffRespStatus] == byte(abi.StatusSuccess) || resp[abi.OffRespStatus] == byte(abi.StatusNoError))
}
