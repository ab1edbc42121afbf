package node_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/client"
)

// TestTypes45Transports serves types 4 and 5 (issue 11) over UDP and TCP:
// echo, and a 44 whose block decrypts under the recipient's AN from the
// first 8 nonce bytes. Over TCP the server frames the request by its
// 48-byte header (L at bytes 17-18) and answers without waiting for the
// client to close; a type-4 header cut at 17 to 47 bytes is answered 16
// in the 48-byte form, and fewer than 17 bytes get no answer.
func TestTypes45Transports(t *testing.T) {
	srv := start(t, newRoot(t))
	type4 := client.Encryption{Type: 4, Den: 1, SN: 5, AN: an15}
	type5 := client.Encryption{Type: 5, Den: 1, SN: 5, AN: an15, Den2: 1, SN2: 7, AN2: an17}
	for _, network := range []string{"udp", "tcp"} {
		n := srv.node(network)
		for _, enc := range []client.Encryption{type4, type5} {
			r := client.NewRequest(abi.GroupStatus, abi.CommandEcho, nil, enc)
			resp, err := r.Do(n) // client.Exchange: no half-close
			if err != nil || resp.Header.Status != abi.StatusSuccess || resp.Long == nil || resp.Long.Type != enc.Type {
				t.Fatalf("%s type %d echo: %v %+v", network, enc.Type, err, resp)
			}
			want := []byte{1, 2, 3, 4, 5, 6, 7, 8, 1, 0, 0, 0, 7}
			r = client.NewRequest(abi.GroupKeys, abi.CommandEncrypt, []byte{1, 0, 0, 0, 7, 1, 2, 3, 4, 5, 6, 7, 8}, enc)
			resp, err = r.Do(n)
			if err != nil || resp.Header.Status != abi.StatusNoError || len(resp.Payload) != 16 {
				t.Fatalf("%s type %d 44: %v %+v", network, enc.Type, err, resp)
			}
			block := make([]byte, 16)
			r.InnerCTR(an17, block, resp.Payload)
			if !bytes.Equal(block[:13], want) || block[15] != 0xff {
				t.Fatalf("%s type %d 44 block %x", network, enc.Type, block)
			}
		}
	}

	n := srv.node("tcp")
	n.Timeout = 2 * time.Second
	r := client.NewRequest(abi.GroupStatus, abi.CommandEcho, nil, type4)
	packet := r.Encode(n)
	for _, k := range []int{abi.Header48Min, 40, abi.Header48Size - 1} {
		raw, err := exchangeHalfClose(n, packet[:k])
		if err != nil {
			t.Fatal(err)
		}
		if len(raw) != abi.Header48Size || abi.Status(raw[abi.OffRespStatus]) != abi.StatusInvalidPacketLength || raw[abi.Off48RespType] != 4 {
			t.Errorf("%d bytes of a type-4 header: answer %x, want a 48-byte 16", k, raw)
		}
	}
	n.Timeout = 300 * time.Millisecond
	if raw, err := exchangeHalfClose(n, packet[:abi.Header48Min-1]); len(raw) != 0 {
		t.Errorf("16 bytes of a type-4 request answered %x (err %v)", raw, err)
	}
	srv.stop(t)
}
