package node_test

// End-to-end tests: the real raidakx binary serves a temporary data root
// written here byte by byte in the node's layout, and the tests speak the
// wire protocol to it over loopback TCP and UDP.

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/client"
	"github.com/raidakx/raidakx/wasm/wasmtest"
)

var (
	binary_  string // the raidakx binary built for these tests
	cacheDir string // compiled-module cache shared by the test servers
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "raidakx-e2e")
	if err != nil {
		panic(err)
	}
	binary_, cacheDir = filepath.Join(dir, "raidakx"), filepath.Join(dir, "cache")
	cmd := exec.Command("go", "build", "-o", binary_, "../cmd/raidakx")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const (
	raidaID = 14
	coinID  = 6
)

// Coins of the test data root. (1, 5) is the type-1 encryption coin; the
// decryption coin file coins/02.5000.bin holds AN 16*(i+1) for RAIDA i.
var (
	an15 = mustHex("820a3fc6f7d59a62c6d90384853adac9")
	an17 = mustHex("87d76f0a20024ba1ebd077ddf979f682")
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func coinFileAN(i int) []byte { return bytes.Repeat([]byte{byte(i + 1)}, 16) }

// pagePath is the node's page file of (den, sn), written out by hand:
// Data/{den:02x}/{page>>8:02x}/{page:04x}.bin.
func pagePath(root string, den int8, sn uint32) string {
	page := sn / 1024
	return filepath.Join(root, "Data", fmt.Sprintf("%02x", byte(den)), fmt.Sprintf("%02x", page>>8), fmt.Sprintf("%04x.bin", page))
}

// readRecord reads record (den, sn) from its page file: 17 bytes at
// 17 * (sn % 1024), zero when the page file does not exist.
func readRecord(t *testing.T, root string, den int8, sn uint32) []byte {
	t.Helper()
	data, err := os.ReadFile(pagePath(root, den, sn))
	if errors.Is(err, os.ErrNotExist) {
		return make([]byte, 17)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != 17408 {
		t.Fatalf("page file %s has %d bytes, want 17408", pagePath(root, den, sn), len(data))
	}
	off := 17 * (sn % 1024)
	return data[off : off+17]
}

// newRoot writes a data root: config.toml with a free port, page 0 of den
// 1 with records (1, 5) and (1, 7), the decryption coin, Keys/.
func newRoot(t *testing.T) string {
	t.Helper()
	return newRootAt(t, t.TempDir())
}

// newRootAt is newRoot in the folder root.
func newRootAt(t *testing.T, root string) string {
	t.Helper()
	for _, d := range []string{"Data/01/00", "coins", "Keys"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o750); err != nil {
			t.Fatal(err)
		}
	}
	page := make([]byte, 1024*17)
	copy(page[17*5:], an15)
	page[17*5+16] = 30 // MFS
	copy(page[17*7:], an17)
	page[17*7+16] = 31
	writeFile(t, pagePath(root, 1, 0), page)
	coin := make([]byte, 440)
	binary.BigEndian.PutUint16(coin[2:], coinID)
	for i := range 25 {
		copy(coin[40+16*i:], coinFileAN(i))
	}
	writeFile(t, filepath.Join(root, "coins", "02.5000.bin"), coin)
	cfg := fmt.Sprintf("[server]\nraida_id = %d\ncoin_id = %d\nport = %d\nthreads = 8\nbackup_freq = 300\nsome_node_key = \"ignored\"\n"+
		"instances = 2\nrequest_timeout = \"2s\"\ncache_dir = %q\n[other]\nx = 1\n", raidaID, coinID, freePort(t), cacheDir)
	writeFile(t, filepath.Join(root, "config.toml"), []byte(cfg))
	return root
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o640); err != nil {
		t.Fatal(err)
	}
}

// freePort returns a port free for both TCP and UDP on 127.0.0.1.
func freePort(t *testing.T) int {
	t.Helper()
	for range 20 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(port))
		ln.Close()
		if err == nil {
			pc.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

type server struct {
	cmd  *exec.Cmd
	port int
	log  *bytes.Buffer
}

// start runs raidakx serve on root and waits until it answers echo.
func start(t *testing.T, root string) *server {
	t.Helper()
	cfg, _ := os.ReadFile(filepath.Join(root, "config.toml"))
	var port int
	for _, line := range bytes.Split(cfg, []byte("\n")) {
		fmt.Sscanf(string(line), "port = %d", &port)
	}
	s := &server{port: port, log: new(bytes.Buffer)}
	s.cmd = exec.Command(binary_, "serve", "-config", filepath.Join(root, "config.toml"), "-wasm", wasmtest.Path(t))
	s.cmd.Stderr = s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			s.cmd.Process.Kill()
			s.cmd.Wait()
		}
		if t.Failed() {
			t.Logf("server log:\n%s", s.log)
		}
	})
	n := s.node("udp")
	n.Timeout = 100 * time.Millisecond
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		if _, err := client.NewRequest(0, 0, nil, client.Encryption{}).Do(n); err == nil {
			return s
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("server did not answer within 30 s")
	return nil
}

func (s *server) node(network string) client.Node {
	return client.Node{Addr: "127.0.0.1:" + strconv.Itoa(s.port), Network: network, RaidaID: raidaID, CoinID: coinID, Timeout: 5 * time.Second}
}

// stop sends SIGTERM and requires a clean exit.
func (s *server) stop(t *testing.T) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	if err := s.cmd.Wait(); err != nil {
		t.Fatalf("server exit: %v\n%s", err, s.log)
	}
}

func ctr(key []byte, nonce [8]byte, src []byte) []byte {
	b, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	iv := make([]byte, 16)
	copy(iv, nonce[:])
	out := make([]byte, len(src))
	cipher.NewCTR(b, iv).XORKeyStream(out, src)
	return out
}

// decryptPayload builds a 45 payload with decryption coin (2, 5000) and
// one record per key: record (den, sn, split) gets half key, encrypted
// under the coin file's AN for RAIDA 3.
func decryptPayload(nonce [8]byte, recs ...keyRecord) []byte {
	p := []byte{2, 0, 0, 0x13, 0x88}
	for _, r := range recs {
		block := append(bytes.Clone(r.half), byte(r.den))
		block = binary.BigEndian.AppendUint32(block, r.sn)
		block = append(block, 0, 0, 0xff)
		p = append(p, 0, coinID, r.split, 3, 0, byte(r.den))
		p = binary.BigEndian.AppendUint32(p, r.sn)
		p = append(p, ctr(coinFileAN(3), nonce, block)...)
	}
	return p
}

type keyRecord struct {
	den   int8
	sn    uint32
	split byte
	half  []byte
}

func TestWire(t *testing.T) {
	root := newRoot(t)
	srv := start(t, root)
	type1 := client.Encryption{Den: 1, SN: 5, AN: an15}
	keyID := mustHex("00112233445566778899aabbccddeeff")
	postKey := make([]byte, 167)
	copy(postKey, keyID)
	copy(postKey[32:], []byte{1, 0, 0, 0, 7})      // den, sn
	copy(postKey[37+5:], []byte{0xaa, 0xbb, 0xcc}) // key space [5:8]
	postKey[165], postKey[166] = 5, 3              // KS, KL
	getKey := append(bytes.Clone(keyID), make([]byte, 21)...)

	type step struct {
		name    string
		req     func(enc client.Encryption) *client.Request
		edit    func(p []byte) // applied to the encoded packet
		status  abi.Status
		payload []byte // nil: none expected; checked when set
	}
	req := func(group, cmd byte, payload []byte) func(client.Encryption) *client.Request {
		return func(enc client.Encryption) *client.Request { return client.NewRequest(group, cmd, payload, enc) }
	}
	steps := []step{
		{"echo", req(0, 0, nil), nil, abi.StatusSuccess, nil},
		{"42", req(4, 42, nil), nil, abi.StatusSuccess, nil},
		{"41", req(4, 41, postKey), nil, abi.StatusSuccess, nil},
		{"43", req(4, 43, getKey), nil, abi.StatusSuccess, []byte{1, 0, 0, 0, 7, 0xaa, 0xbb, 0xcc}},
		{"43 missing", req(4, 43, make([]byte, 37)), nil, abi.StatusFilesystem, nil},
		{"41 KS+KL 128", req(4, 41, append(bytes.Clone(postKey[:165]), 100, 28)), nil, abi.StatusInvalidKeyLength, nil},
		{"routing", req(0, 0, nil), func(p []byte) { p[0] = 0 }, abi.StatusInvalidRouting, nil},
		{"split", req(0, 0, nil), func(p []byte) { p[1] = 1 }, abi.StatusInvalidSplitID, nil},
		{"raida", req(0, 0, nil), func(p []byte) { p[2] = 3 }, abi.StatusInvalidRaidaID, nil},
		{"shard", req(0, 0, nil), func(p []byte) { p[3] = 4 }, abi.StatusInvalidShardID, nil},
		{"group", req(0, 0, nil), func(p []byte) { p[4] = 16 }, abi.StatusInvalidCommandGroup, nil},
		{"command", req(4, 40, nil), nil, abi.StatusInvalidCommand, nil},
		{"coin id", req(0, 0, nil), func(p []byte) { p[7] = 9 }, abi.StatusInvalidCoinID, nil},
		{"encryption code", req(0, 0, nil), func(p []byte) { p[16] = 3 }, abi.StatusInvalidEncryptionCode, nil},
		{"locker", req(0, 0, nil), func(p []byte) { p[16] = 2 }, abi.StatusInvalidEncryption, nil}, // issue 11 rule 8
		{"encryption coin", req(0, 0, nil), func(p []byte) { p[16], p[17] = 1, 9 }, abi.StatusInvalidEncryption, nil},
		{"trailer", req(0, 0, nil), func(p []byte) { p[len(p)-1] = 0 }, abi.StatusInvalidEOF, nil},
		{"crc", req(0, 0, nil), func(p []byte) { p[32+13] ^= 1; p[32+14] ^= 1 }, abi.StatusInvalidCRC, nil},
		{"44 short body", req(4, 44, []byte{1, 0, 0, 0}), nil, abi.StatusInvalidPacketLength, nil},
		{"44 bad sn", req(4, 44, []byte{1, 0xff, 0, 0, 0}), nil, abi.StatusInvalidSNOrDenomination, nil},
		{"45 not divisible", req(4, 45, make([]byte, 32)), nil, abi.StatusCoinsNotDiv, nil},
		{"45 coin missing", req(4, 45, make([]byte, 31)), nil, abi.StatusCoinLoad, nil},
		{"empty 44", func(enc client.Encryption) *client.Request {
			r := client.NewRequest(4, 44, nil, enc)
			r.Empty = true
			return r
		}, nil, abi.StatusEmptyRequest, nil},
		{"truncated", req(0, 0, nil), func(p []byte) { p[23] += 4 }, abi.StatusInvalidPacketLength, nil},
	}
	for _, network := range []string{"udp", "tcp"} {
		for _, enc := range []client.Encryption{{}, type1} {
			for _, s := range steps {
				name := fmt.Sprintf("%s/type%d/%s", network, len(enc.AN)/16, s.name)
				t.Run(name, func(t *testing.T) {
					n := srv.node(network)
					r := s.req(enc)
					packet := r.Encode(n)
					if s.edit != nil {
						s.edit(packet)
					}
					raw, err := exchangeHalfClose(n, packet)
					if err != nil {
						t.Fatal(err)
					}
					resp, err := r.Decode(raw)
					if err != nil {
						t.Fatalf("decode %x: %v", raw, err)
					}
					if resp.Header.Status != s.status {
						t.Fatalf("status %v, want %v", resp.Header.Status, s.status)
					}
					if resp.Header.RaidaID != raidaID || resp.Header.Echo != [2]byte(packet[30:32]) {
						t.Fatalf("header %+v", resp.Header)
					}
					if s.payload != nil && !bytes.Equal(resp.Payload, s.payload) {
						t.Fatalf("payload %x, want %x", resp.Payload, s.payload)
					}
				})
			}
		}
	}

	t.Run("44 then 45", func(t *testing.T) {
		for _, network := range []string{"udp", "tcp"} {
			n := srv.node(network)
			r := client.NewRequest(4, 44, []byte{1, 0, 0, 0, 7, 1, 2, 3, 4, 5, 6, 7, 8}, type1)
			resp, err := r.Do(n)
			if err != nil || resp.Header.Status != abi.StatusNoError {
				t.Fatalf("44: %v %+v", err, resp)
			}
			// The block under AN(1, 7), from the request's initial counter block.
			block := ctr(an17, r.Nonce, resp.Payload)
			want := []byte{1, 2, 3, 4, 5, 6, 7, 8, 1, 0, 0, 0, 7}
			if !bytes.Equal(block[:13], want) || block[15] != 0xff {
				t.Fatalf("44 block %x", block)
			}
		}
	})

	t.Run("short packets get no answer", func(t *testing.T) {
		for _, network := range []string{"udp", "tcp"} {
			n := srv.node(network)
			n.Timeout = 300 * time.Millisecond
			raw, err := exchangeHalfClose(n, make([]byte, 31))
			if len(raw) != 0 {
				t.Errorf("%s: 31-byte packet answered %x (err %v)", network, raw, err)
			}
		}
	})
	srv.stop(t)
}

// exchangeHalfClose is client.Exchange, but over TCP it closes its write
// side after sending, as a client that sent all it will send.
func exchangeHalfClose(n client.Node, packet []byte) ([]byte, error) {
	if n.Network == "udp" {
		return client.Exchange(n, packet)
	}
	c, err := net.DialTimeout("tcp", n.Addr, n.Timeout)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(n.Timeout))
	if _, err := c.Write(packet); err != nil {
		return nil, err
	}
	c.(*net.TCPConn).CloseWrite()
	var buf bytes.Buffer
	_, err = buf.ReadFrom(c)
	return buf.Bytes(), err
}
