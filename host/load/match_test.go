package load

import (
	"bytes"
	"testing"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/client"
)

// TestMatches: a UDP answer is matched to its request by the nonce bytes
// it echoes, at 6-7 of the 32-byte form (request 30-31) and at 46-47 of
// the 48-byte form of types 4 and 5 (request 46-47).
func TestMatches(t *testing.T) {
	n := client.Node{RaidaID: 1, CoinID: 6}
	an := bytes.Repeat([]byte{3}, 16)
	for _, enc := range []client.Encryption{{}, {AN: an}, {Type: 4, AN: an}, {Type: 5, AN: an, AN2: an}} {
		packet := client.NewRequest(abi.GroupStatus, abi.CommandEcho, nil, enc).Encode(n)
		size, echo, from := abi.HeaderSize, 6, 30
		if enc.Long() {
			size, echo, from = abi.Header48Size, abi.Off48RespNonceEcho, abi.Header48Size-2
		}
		answer := make([]byte, size)
		copy(answer[echo:], packet[from:from+2])
		if !matches(packet, answer) {
			t.Errorf("type %d: its own answer does not match", enc.Code())
		}
		answer[echo+1] ^= 1
		if matches(packet, answer) {
			t.Errorf("type %d: another request's answer matches", enc.Code())
		}
		if matches(packet, answer[:size-1]) && enc.Long() {
			t.Errorf("type %d: a short answer matches", enc.Code())
		}
	}
}
