// Package localnet is a local RAIDA for client development: up to 25
// nodes on one machine, each a complete data root, with test coins whose
// AN differs on every node (raidakx net init); all of them served by one
// process that compiles the module once (raidakx net serve); and the
// client side that runs the key exchange (44 on two nodes, 45 on a third)
// across them (raidakx client -net).
//
// A network folder DIR holds raida00 … raidaNN, one data root per node,
// and wallet/, the test coins' files in the node format. Every node's
// coins/ holds the same files, as init wrote them: 45 on node T decrypts
// the key of RAIDA i with the AN at offset 40 + 16·i of its own copy.
package localnet

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/config"
)

// InitOptions describe a new network; zero values select the defaults.
type InitOptions struct {
	Nodes  int // 1..25, default 25
	Port   int // node i serves port Port+i; default 18000
	Coins  int // test coins 1.1 … 1.Coins, default 8
	CoinID int // default 6
}

// Network defaults.
const (
	DefaultNodes  = abi.RaidaCount
	DefaultPort   = 18000
	DefaultCoins  = 8
	DefaultCoinID = 6
	// TestDen is the denomination of the test coins: 1.1 and 1.2 are also
	// the demo coins that raidakx load expects in a data root.
	TestDen = 1
)

// nodeSettings are the config.toml keys init sets on every node, so that
// 25 nodes fit in one process under 512 MiB of RSS while loaded
// (docs/RATIONALE.md, "A local RAIDA in one process"). Each node keeps
// its own data root, page store, pool and port.
var nodeSettings = []struct{ key, value string }{
	{"instances", "1"},             // one warm instance per node: 25 in all
	{"threads", "4"},               // UDP readers, each with a 68 KiB buffer
	{"memory_limit", `"32MiB"`},    // an instance's linear memory
	{"open_files", "64"},           // page files kept open per node
	{"go_memory_limit", `"12MiB"`}, // net serve sets the process's limit to the sum
}

// Node is one node of a network.
type Node struct {
	ID     int    // its RAIDA id
	Root   string // its data root
	Addr   string // 127.0.0.1:port
	Config *config.Config
}

// Net is a network folder, as Open read it.
type Net struct {
	Dir    string
	Nodes  []Node // by RAIDA id, from 0
	Wallet []Coin // the test coins, as in DIR/wallet/
}

// NodeDir returns the data root of node id in network folder dir.
func NodeDir(dir string, id int) string { return filepath.Join(dir, fmt.Sprintf("raida%02d", id)) }

// WalletDir returns the wallet folder of network folder dir.
func WalletDir(dir string) string { return filepath.Join(dir, "wallet") }

// Init creates network folder dir, which must not exist or be empty, and
// returns it as Open would.
func Init(dir string, o InitOptions) (*Net, error) {
	if o.Nodes == 0 {
		o.Nodes = DefaultNodes
	}
	if o.Port == 0 {
		o.Port = DefaultPort
	}
	if o.Coins == 0 {
		o.Coins = DefaultCoins
	}
	if o.CoinID == 0 {
		o.CoinID = DefaultCoinID
	}
	switch {
	case o.Nodes < 1 || o.Nodes > abi.RaidaCount:
		return nil, fmt.Errorf("-nodes %d: want 1..%d", o.Nodes, abi.RaidaCount)
	case o.Port < 1 || o.Port+o.Nodes-1 > 0xffff:
		return nil, fmt.Errorf("-port %d: ports %d..%d do not fit 1..65535", o.Port, o.Port, o.Port+o.Nodes-1)
	case o.Coins < 2 || o.Coins > 1000:
		return nil, fmt.Errorf("-coins %d: want 2..1000 (coins 1.1 and 1.2 are raidakx load's)", o.Coins)
	case o.CoinID < 0 || o.CoinID > 0xffff:
		return nil, fmt.Errorf("-coin-id %d: want 0..65535", o.CoinID)
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("%s exists and is not empty; refusing to overwrite it", dir)
	}
	coins := make([]Coin, o.Coins)
	for i := range coins {
		coins[i] = NewCoin(TestDen, uint32(i+1), o.CoinID)
	}
	if err := os.MkdirAll(WalletDir(dir), 0o750); err != nil {
		return nil, err
	}
	for _, c := range coins {
		if err := os.WriteFile(filepath.Join(WalletDir(dir), c.FileName()), c.Data, 0o640); err != nil {
			return nil, err
		}
	}
	for id := range o.Nodes {
		text, err := nodeConfig(id, o.CoinID, o.Port+id)
		if err != nil {
			return nil, err
		}
		if err := CreateRoot(NodeDir(dir, id), RootOptions{RaidaID: id, CoinID: o.CoinID, Port: o.Port + id, Config: text, Coins: coins}); err != nil {
			return nil, fmt.Errorf("node %d: %w", id, err)
		}
	}
	return Open(dir)
}

// nodeConfig returns config.Template for node id with nodeSettings.
func nodeConfig(id, coinID, port int) (string, error) {
	text := config.Template(id, coinID, port)
	for _, s := range nodeSettings {
		re := regexp.MustCompile(`(?m)^` + s.key + ` = \S+`)
		if !re.MatchString(text) {
			return "", fmt.Errorf("config template has no line %q", s.key+" = ")
		}
		text = re.ReplaceAllLiteralString(text, s.key+" = "+s.value)
	}
	return text, nil
}

// Open reads network folder dir: the nodes raida00, raida01, … (the first
// missing one ends the list) and the wallet.
func Open(dir string) (*Net, error) {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a network folder (create one with raidakx net init %s)", dir, dir)
	}
	n := &Net{Dir: dir}
	for id := range abi.RaidaCount {
		root := NodeDir(dir, id)
		cfgPath := filepath.Join(root, "config.toml")
		if _, err := os.Stat(cfgPath); errors.Is(err, fs.ErrNotExist) {
			break
		}
		cfg, err := config.Load(cfgPath, root)
		if err != nil {
			return nil, err
		}
		if cfg.RaidaID != id {
			return nil, fmt.Errorf("%s: raida_id %d, want %d (its folder's number)", cfgPath, cfg.RaidaID, id)
		}
		n.Nodes = append(n.Nodes, Node{ID: id, Root: root, Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.Port)), Config: cfg})
	}
	if len(n.Nodes) == 0 {
		return nil, fmt.Errorf("%s is not a network folder: no raida00/config.toml (create one with raidakx net init %s)", dir, dir)
	}
	entries, err := os.ReadDir(WalletDir(dir))
	if err != nil {
		return nil, fmt.Errorf("%s: wallet: %w", dir, err)
	}
	for _, e := range entries {
		var den byte
		var sn uint32
		if _, err := fmt.Sscanf(e.Name(), "%02x.%d.bin", &den, &sn); err != nil {
			continue
		}
		c := Coin{Den: int8(den), SN: sn}
		if c.FileName() != e.Name() {
			continue
		}
		if c.Data, err = os.ReadFile(filepath.Join(WalletDir(dir), e.Name())); err != nil {
			return nil, err
		}
		if len(c.Data) != CoinFileSize {
			return nil, fmt.Errorf("%s: %d bytes, want a %d-byte coin file", filepath.Join(WalletDir(dir), e.Name()), len(c.Data), CoinFileSize)
		}
		n.Wallet = append(n.Wallet, c)
	}
	slices.SortFunc(n.Wallet, func(a, b Coin) int { return cmp.Or(cmp.Compare(a.Den, b.Den), cmp.Compare(a.SN, b.SN)) })
	return n, nil
}

// Node returns node id, or an error naming the nodes there are.
func (n *Net) Node(id int) (*Node, error) {
	if id < 0 || id >= len(n.Nodes) {
		return nil, fmt.Errorf("no RAIDA %d in %s (its nodes are 0..%d)", id, n.Dir, len(n.Nodes)-1)
	}
	return &n.Nodes[id], nil
}

// Coin returns the wallet's coin (den, sn), or an error listing the test
// coins.
func (n *Net) Coin(den int8, sn uint32) (*Coin, error) {
	for i := range n.Wallet {
		if n.Wallet[i].Den == den && n.Wallet[i].SN == sn {
			return &n.Wallet[i], nil
		}
	}
	return nil, fmt.Errorf("coin %d.%d is not a test coin of %s (its wallet holds %s)", den, sn, n.Dir, n.walletList())
}

// walletList names the wallet's coins, e.g. "1.1 … 1.8".
func (n *Net) walletList() string {
	switch len(n.Wallet) {
	case 0:
		return "none"
	case 1:
		return n.Wallet[0].String()
	}
	return n.Wallet[0].String() + " … " + n.Wallet[len(n.Wallet)-1].String()
}

// saveCoin writes c's file back into the wallet (temp file and rename).
func (n *Net) saveCoin(c *Coin) error {
	path := filepath.Join(WalletDir(n.Dir), c.FileName())
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, c.Data, 0o640); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
