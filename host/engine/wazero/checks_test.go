package wazero

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"os"
	"testing"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/client"
	"github.com/raidakx/raidakx/host/engine"
	"github.com/raidakx/raidakx/host/storage"
)

// checksState is the node state of host/engines' benchmarks (benchState):
// coin (1, 5) for type 1, recipient (1, 7), decryption coin file
// coins/02.5000.bin and one key.
func checksState() (*storage.MemRecords, *storage.MemFiles, []byte) {
	var r15, r17 storage.Record
	copy(r15[:], bytes.Repeat([]byte{0x15}, 16))
	copy(r17[:], bytes.Repeat([]byte{0x17}, 16))
	recs := storage.NewMemRecords(map[storage.RecordKey]storage.Record{{Den: 1, SN: 5}: r15, {Den: 1, SN: 7}: r17})
	coin := make([]byte, 440)
	binary.BigEndian.PutUint16(coin[2:], 6)
	rand.Read(coin[40:])
	files := storage.NewMemFiles(map[string][]byte{
		"coins/02.5000.bin":                     coin,
		"Keys/00000000000000000000000000000000": make([]byte, 133),
	})
	return recs, files, coin
}

// checksRequests returns the type-1 request of each command, built as
// host/engines' benchRequests builds them.
func checksRequests(coin []byte) map[string][]byte {
	node := client.Node{RaidaID: 14, CoinID: 6}
	enc := client.Encryption{Den: 1, SN: 5, AN: bytes.Repeat([]byte{0x15}, 16)}
	decrypt := func(n int) []byte {
		r := client.NewRequest(4, 45, nil, enc)
		p := []byte{2, 0, 0, 0x13, 0x88}
		for i := range n {
			sn := uint32(i * 397 % abi.SNLimit)
			block := make([]byte, 16)
			block[8] = 3
			binary.BigEndian.PutUint32(block[9:], sn)
			block[15] = 0xff
			p = append(p, 0, 6, byte(i&1), 0, 0, 3)
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
		"echo":   client.NewRequest(0, 0, nil, client.Encryption{}).Encode(node),
		"41":     client.NewRequest(4, 41, post, enc).Encode(node),
		"42":     client.NewRequest(4, 42, nil, enc).Encode(node),
		"43":     client.NewRequest(4, 43, make([]byte, 37), enc).Encode(node),
		"44":     client.NewRequest(4, 44, []byte{1, 0, 0, 0, 7, 1, 2, 3, 4, 5, 6, 7, 8}, enc).Encode(node),
		"45x1":   decrypt(1),
		"45x100": decrypt(100),
	}
}

// TestLoopChecksPerRequest reports how many interruption checks one
// request of each command costs under wazero's compiler: the loop headers
// the instrumented module (package loopcount) executes during the second
// request of the command, after a warm-up one, on one instance, in the
// order below. It only reports, and runs only when RAIDAKX_CHECKS=1.
func TestLoopChecksPerRequest(t *testing.T) {
	if os.Getenv("RAIDAKX_CHECKS") != "1" {
		t.Skip("set RAIDAKX_CHECKS=1 to count the loop headers (interruption checks) per request")
	}
	_, counted := compileReal(t)
	recs, files, coin := checksState()
	env := loopEnv(recs, files)
	cfg := abi.Config{RaidaID: 14, CoinID: 6}
	inst, err := counted.Instantiate(env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	reqs := checksRequests(coin)
	resp := make([]byte, abi.ResponseCap)
	t.Logf("%-7s %12s  %s", "command", "checks", "(warm-up request, third request; response status)")
	for _, cmd := range []string{"echo", "41", "42", "43", "44", "45x1", "45x100"} {
		var counts [3]uint64
		for i := range counts {
			before := loopCount(t, inst)
			n, err := engine.Serve(inst, env, cfg, reqs[cmd], resp)
			if err != nil || n < abi.HeaderSize || (resp[abi.OffRespStatus] != byte(abi.StatusSuccess) && resp[abi.OffRespStatus] != 0) {
				t.Fatalf("%s request %d: %d bytes, status %d, %v", cmd, i, n, resp[abi.OffRespStatus], err)
			}
			counts[i] = loopCount(t, inst) - before
		}
		t.Logf("%-7s %12d  (%d, %d; status %d)", cmd, counts[1], counts[0], counts[2], resp[abi.OffRespStatus])
	}
}
