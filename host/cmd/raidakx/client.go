package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/client"
	"github.com/raidakx/raidakx/host/config"
	"github.com/raidakx/raidakx/host/load"
)

const clientAbout = `One node (-root or -addr):
  echo                      group 0 command 0
  alert                     42 Key Alert
  post-key KEYID KEY        41 Post Key: KEY (hex) stored under KEYID (32 hex)
  get-key KEYID             43 Get Key
  encrypt DEN SN [KEYPART]  44 Encrypt Key for coin (DEN, SN); KEYPART: 16 hex (31-byte form)
  decrypt DEN SN [SPLIT]    44 then 45 on this node: sets half SPLIT (0) of coin (DEN, SN)'s
                            AN to a new key, if coins/{DEN}.{SN}.bin holds its AN here

A local RAIDA (-net DIR, made by raidakx net init):
  echo                      echo to every node at once, one row per node; exit 1 if one fails
  exchange -to T -via A,B DEN SN
                            44 on A and on B, 45 on T with both blocks, then a type-1 echo
                            on T under the new AN; exit 0 only if it validates, 2 for bad
                            input (nothing changed)

encryption (-type):
  0  none
  1  AES-128-CTR under the AN of -coin (with -net: of the exchanged coin at each node)
  4  48-byte header, AES-256-CTR and HMAC-SHA256 under SHA-256(AN of -coin)
  5  the same under SHA-256(AN of -coin || AN of -coin2)
Every one-node command works under every type; the answers to types 4 and 5
are checked (tag, then decryption) before they are shown.`

func runClient(args []string) int {
	fs := newFlagSet("client", "raidakx client [flags] COMMAND [ARGS]", clientAbout,
		"raidakx client -root var/demo -type 1 encrypt 1 1",
		"raidakx client -addr 127.0.0.1:18014 -raida-id 14 -coin-id 6 -transport tcp -timeout 1s echo",
		"raidakx client -root var/demo -type 5 -coin var/demo/coins/01.1.bin -coin2 1.2 get-key 00112233445566778899aabbccddeeff",
		"raidakx client -net var/raida echo",
		"raidakx client -net var/raida exchange -to 3 -via 1,2 1 5 -type 1")
	root := fs.String("root", "", "data root: take port, raida_id and coin_id from its config.toml and the type-1 coin from its coins/")
	netDir := fs.String("net", "", "local RAIDA folder (raidakx net init): the commands are echo and exchange")
	addr := fs.String("addr", "", "node address host:port (default 127.0.0.1 and the root's port, else 18000)")
	transport := fs.String("transport", "udp", "udp or tcp")
	raidaID := fs.Int("raida-id", -1, "node's RAIDA id (default: the root's, else 0)")
	coinID := fs.Int("coin-id", -1, "coin id (default: the root's, else 6)")
	encType := fs.Int("type", 0, "encryption type 0, 1, 4 or 5 (exchange: 0 or 1)")
	coin := fs.String("coin", "", "types 1, 4, 5: coin file whose AN for this RAIDA encrypts (default ROOT/coins/01.1.bin)")
	coin2 := fs.String("coin2", "", "type 5: second coin DEN.SN, e.g. 1.2, read from coins/{den:02x}.{sn}.bin in the folder of -coin")
	to := fs.Int("to", -1, "exchange: the RAIDA whose AN of the coin changes")
	via := fs.String("via", "", "exchange: A,B, the two RAIDAs that encrypt the key halves (split 0 and 1)")
	timeout := fs.Duration("timeout", 3*time.Second, "time to wait for each answer")
	pos, code, ok := fs.parse(args)
	if !ok {
		return code
	}
	switch {
	case len(pos) == 0:
		return fs.fail("no command")
	case *transport != "udp" && *transport != "tcp":
		return fs.fail("-transport %q: want udp or tcp", *transport)
	case *encType != 0 && *encType != 1 && *encType != 4 && *encType != 5:
		return fs.fail("-type %d: want 0, 1, 4 or 5", *encType)
	case *coin2 != "" && *encType != 5:
		return fs.fail("-coin2 is for -type 5")
	case (*to >= 0 || *via != "") && (*netDir == "" || pos[0] != "exchange"):
		return fs.fail("-to and -via are for -net DIR exchange")
	}
	if *netDir != "" {
		if (*netDir == "udp" || *netDir == "tcp") && !isDir(*netDir) {
			return fs.fail("-net names a local RAIDA folder now; the transport flag is -transport %s", *netDir)
		}
		return netClient(*netDir, pos, *to, *via, byte(*encType), *transport, *timeout)
	}
	n := client.Node{Network: *transport, Timeout: *timeout, RaidaID: 0, CoinID: 6}
	port := 18000
	if *root != "" {
		cfg, err := config.Load(filepath.Join(*root, "config.toml"), *root)
		if err != nil {
			fmt.Fprintln(os.Stderr, "raidakx client:", err)
			return 1
		}
		n.RaidaID, n.CoinID, port = byte(cfg.RaidaID), uint16(cfg.CoinID), cfg.Port
		if *coin == "" {
			*coin = filepath.Join(*root, "coins", "01.1.bin")
		}
	}
	if *raidaID >= 0 {
		n.RaidaID = byte(*raidaID)
	}
	if *coinID >= 0 {
		n.CoinID = uint16(*coinID)
	}
	n.Addr = *addr
	if n.Addr == "" {
		n.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	}
	enc, err := clientEncryption(byte(*encType), *coin, *coin2, n.RaidaID)
	if err != nil {
		fmt.Fprintln(os.Stderr, "raidakx client:", err)
		return 1
	}
	if err := clientCommand(n, enc, pos); err != nil {
		fmt.Fprintln(os.Stderr, "raidakx client:", err)
		return 1
	}
	return 0
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// clientEncryption returns encryption of type typ: none for 0; for 1 and
// 4 under coin file path; for 5 under it and coin2 ("DEN.SN"), whose file
// is in the same folder.
func clientEncryption(typ byte, path, coin2 string, raidaID byte) (client.Encryption, error) {
	if typ == 0 {
		return client.Encryption{}, nil
	}
	if path == "" {
		return client.Encryption{}, fmt.Errorf("-type %d needs -coin or -root", typ)
	}
	enc, err := coinEncryption(path, raidaID)
	if err != nil || typ == 1 {
		return enc, err
	}
	enc.Type = typ
	if typ == 5 {
		if coin2 == "" {
			return client.Encryption{}, errors.New("-type 5 needs -coin2 DEN.SN, e.g. -coin2 1.2")
		}
		c2, err := parseCoin(coin2)
		if err != nil {
			return client.Encryption{}, fmt.Errorf("-coin2: %w", err)
		}
		second, err := coinEncryption(filepath.Join(filepath.Dir(path), string(abi.AppendCoinFileName(nil, c2.Den, c2.SN))), raidaID)
		if err != nil {
			return client.Encryption{}, fmt.Errorf("-coin2: %w", err)
		}
		enc.Den2, enc.SN2, enc.AN2 = second.Den, second.SN, second.AN
	}
	return enc, enc.Check()
}

// parseCoin parses "DEN.SN" (den -8..6 as the node numbers them, sn
// decimal).
func parseCoin(s string) (load.Coin, error) {
	d, sn, ok := strings.Cut(s, ".")
	den, err1 := strconv.ParseInt(d, 10, 8)
	n, err2 := strconv.ParseUint(sn, 10, 32)
	if !ok || err1 != nil || err2 != nil {
		return load.Coin{}, fmt.Errorf("%q: want DEN.SN, e.g. 1.2", s)
	}
	return load.Coin{Den: int8(den), SN: uint32(n)}, nil
}

// coinEncryption reads a coin file named {den:02x}.{sn}.bin and returns
// type-1 encryption under its AN for raidaID.
func coinEncryption(path string, raidaID byte) (client.Encryption, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return client.Encryption{}, err
	}
	var den byte
	var sn uint32
	if _, err := fmt.Sscanf(filepath.Base(path), "%02x.%d.bin", &den, &sn); err != nil || len(data) != 440 {
		return client.Encryption{}, fmt.Errorf("%s: not a coin file ({den:02x}.{sn}.bin, 440 bytes)", path)
	}
	off := 40 + 16*int(raidaID)
	return client.Encryption{Den: int8(den), SN: sn, AN: data[off : off+16]}, nil
}

func clientCommand(n client.Node, enc client.Encryption, args []string) error {
	cmd, args := args[0], args[1:]
	need := func(k int) error {
		if len(args) < k {
			return fmt.Errorf("%s needs %d arguments", cmd, k)
		}
		return nil
	}
	switch cmd {
	case "echo":
		return show(n, "echo", client.NewRequest(abi.GroupStatus, abi.CommandEcho, nil, enc))
	case "alert":
		return show(n, "42 key alert", client.NewRequest(abi.GroupKeys, abi.CommandAlert, nil, enc))
	case "post-key":
		if err := need(2); err != nil {
			return err
		}
		id, err1 := hexArg(args[0], 16)
		key, err2 := hex.DecodeString(args[1])
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		if len(key) > 127 {
			return errors.New("key longer than 127 bytes")
		}
		p := client.PostKeyPayload(id, 1, key) // den 1: the node does not check it
		return show(n, "41 post key", client.NewRequest(abi.GroupKeys, abi.CommandPostKey, p, enc))
	case "get-key":
		if err := need(1); err != nil {
			return err
		}
		id, err := hexArg(args[0], 16)
		if err != nil {
			return err
		}
		return show(n, "43 get key", client.NewRequest(abi.GroupKeys, abi.CommandGetKey, append(id, make([]byte, 21)...), enc))
	case "encrypt", "decrypt":
		if err := need(2); err != nil {
			return err
		}
		den, err1 := strconv.ParseInt(args[0], 10, 8)
		sn, err2 := strconv.ParseUint(args[1], 10, 32)
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		if cmd == "decrypt" {
			split := uint64(0)
			if len(args) > 2 {
				if split, err1 = strconv.ParseUint(args[2], 10, 8); err1 != nil {
					return fmt.Errorf("SPLIT %q: want 0 or 1", args[2])
				}
			}
			return roundTrip(n, enc, int8(den), uint32(sn), byte(split))
		}
		var part []byte
		if len(args) > 2 {
			if part, err1 = hexArg(args[2], 8); err1 != nil {
				return err1
			}
		}
		payload := client.EncryptKeyPayload(int8(den), uint32(sn), part)
		return show(n, "44 encrypt key", client.NewRequest(abi.GroupKeys, abi.CommandEncrypt, payload, enc))
	}
	return fmt.Errorf("unknown command %q", cmd)
}

// roundTrip asks the node for a key block for coin (den, sn) (44, with a
// fresh 8-byte key), then hands the block back to the same node as a 45
// record from RAIDA raida_id, decrypted with coin file (den, sn). Both
// requests use one nonce: a 44 block is encrypted from its request's
// initial counter block, and 45 decrypts each record from its own. Under
// every type that block is the first 8 nonce bytes ‖ 0^8 (under type 5
// they start with coin 2, in both requests).
func roundTrip(n client.Node, enc client.Encryption, den int8, sn uint32, split byte) error {
	key := make([]byte, 8)
	rand.Read(key)
	r44 := client.NewRequest(abi.GroupKeys, abi.CommandEncrypt, client.EncryptKeyPayload(den, sn, key), enc)
	resp, err := r44.Do(n)
	if err != nil {
		return err
	}
	printResponse("44 encrypt key", n, r44, resp)
	if resp.Header.Status != abi.StatusNoError {
		return nil
	}
	rec := client.KeyRecord{Split: split, Raida: n.RaidaID, Den: den, SN: sn, Block: resp.Payload}
	r45 := client.NewRequest(abi.GroupKeys, abi.CommandDecrypt, client.DecryptKeyPayload(den, sn, rec), enc)
	r45.Nonce = r44.Nonce
	fmt.Printf("new key half %d: %x\n", split, key)
	return show(n, "45 decrypt raida key", r45)
}

func show(n client.Node, what string, r *client.Request) error {
	resp, err := r.Do(n)
	if err != nil {
		return err
	}
	printResponse(what, n, r, resp)
	return nil
}

func printResponse(what string, n client.Node, r *client.Request, resp *client.Response) {
	fmt.Printf("%s over %s, type %d: status %d %s\n", what, n.Network, r.Enc.Code(), resp.Header.Status, resp.Header.Status)
	if len(resp.Payload) > 0 {
		fmt.Printf("payload (%d bytes): %x\n", len(resp.Payload), resp.Payload)
	}
}

func hexArg(s string, size int) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != size {
		return nil, fmt.Errorf("%q: want %d hex digits", s, 2*size)
	}
	return b, nil
}
