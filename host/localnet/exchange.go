package localnet

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/client"
)

// BadInputError is an exchange refused before any request that could
// change a node was sent: raidakx client exits 2 for it.
type BadInputError struct{ Err error }

func (e *BadInputError) Error() string { return e.Err.Error() }
func (e *BadInputError) Unwrap() error { return e.Err }

func badInput(format string, args ...any) error {
	return &BadInputError{fmt.Errorf(format, args...)}
}

// client returns how to reach node nd.
func (nd *Node) client(transport string, timeout time.Duration) client.Node {
	return client.Node{Addr: nd.Addr, Network: transport, RaidaID: byte(nd.ID), CoinID: uint16(nd.Config.CoinID), Timeout: timeout}
}

// EchoResult is one node's answer to echo.
type EchoResult struct {
	Node    *Node
	Status  abi.Status
	Latency time.Duration
	Err     error // no valid answer
}

// OK reports whether the node answered echo with 250.
func (r EchoResult) OK() bool { return r.Err == nil && r.Status == abi.StatusSuccess }

// Echo sends a type-0 echo to nodes ids (every node when none is given)
// in parallel over transport ("udp" or "tcp") and returns their answers
// in the order of ids.
func (n *Net) Echo(transport string, timeout time.Duration, ids ...int) []EchoResult {
	if len(ids) == 0 {
		for _, nd := range n.Nodes {
			ids = append(ids, nd.ID)
		}
	}
	res := make([]EchoResult, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		res[i].Node = &n.Nodes[id]
		wg.Go(func() {
			r := &res[i]
			start := time.Now()
			resp, err := client.NewRequest(abi.GroupStatus, abi.CommandEcho, nil, client.Encryption{}).Do(r.Node.client(transport, timeout))
			r.Latency = time.Since(start)
			if err != nil {
				r.Err = err
				return
			}
			r.Status = resp.Header.Status
		})
	}
	wg.Wait()
	return res
}

// ExchangeOptions name a key exchange: coin (Den, SN)'s AN on RAIDA To
// becomes K0 ‖ K1, K0 sent through RAIDA A and K1 through RAIDA B.
type ExchangeOptions struct {
	To, A, B  int
	Den       int8
	SN        uint32
	Type      byte   // 0, or 1: every request encrypted under the coin's AN at its node
	Transport string // "udp" (default) or "tcp"
	Timeout   time.Duration
	// Step, when set, is told each step as it is done.
	Step func(string)
}

// Exchange runs the key exchange of o and returns the coin's new AN on
// RAIDA o.To, checked by a type-1 echo under it; the wallet then holds it.
//
//  1. 44 on A with key part K0 (the 31-byte body), and 44 on B with K1:
//     each answers K ‖ den ‖ sn ‖ R ‖ FF encrypted under the coin's AN
//     there, which the wallet knows, so each block is checked.
//  2. 45 on To: decryption coin and records name the coin; record 0 is
//     A's block (RAIDA index A, split 0), record 1 B's (index B, split 1).
//     To decrypts each with the AN at 40 + 16·index of its coins/ file
//     and, when both check, its record of the coin becomes K0 ‖ K1.
//  3. A type-1 echo on To under K0 ‖ K1: To answers only if that AN is
//     the one it stores.
//
// All three requests carry one nonce: 44's block is encrypted from its
// request's initial counter block and 45 decrypts each record from its
// own. Errors before step 2 are *BadInputError and leave every node as it
// was: an unknown node, A = B, To among A and B, a coin not in the
// wallet, To's coin file disagreeing with the wallet about A or B, or a
// node that does not answer echo.
func (n *Net) Exchange(o ExchangeOptions) ([]byte, error) {
	step := o.Step
	if step == nil {
		step = func(string) {}
	}
	if o.Transport == "" {
		o.Transport = "udp"
	}
	if o.Timeout == 0 {
		o.Timeout = 3 * time.Second
	}
	var nodes [3]*Node
	for i, id := range []int{o.To, o.A, o.B} {
		nd, err := n.Node(id)
		if err != nil {
			return nil, &BadInputError{err}
		}
		nodes[i] = nd
	}
	t, a, b := nodes[0], nodes[1], nodes[2]
	switch {
	case o.A == o.B:
		return nil, badInput("-via %d,%d: both key halves would pass through RAIDA %d, which would then know the whole new AN; name two different nodes", o.A, o.B, o.A)
	case o.To == o.A || o.To == o.B:
		return nil, badInput("-to %d is also in -via: RAIDA %d would decrypt its own key block with the AN its coins/ file holds for it, which is the AN being replaced once it has changed; name two other nodes", o.To, o.To)
	case o.Type > 1:
		return nil, badInput("-type %d: the exchange runs under type 0 or 1", o.Type)
	}
	coin, err := n.Coin(o.Den, o.SN)
	if err != nil {
		return nil, &BadInputError{err}
	}
	tFile, err := os.ReadFile(filepath.Join(t.Root, "coins", coin.FileName()))
	if err != nil || len(tFile) != CoinFileSize {
		return nil, badInput("RAIDA %d has no %d-byte coins/%s, so its 45 cannot decrypt keys for coin %s (%v)", o.To, CoinFileSize, coin.FileName(), coin, err)
	}
	tCoin := Coin{Den: coin.Den, SN: coin.SN, Data: tFile}
	for _, via := range []*Node{a, b} {
		if !bytes.Equal(tCoin.AN(via.ID), coin.AN(via.ID)) {
			return nil, badInput("RAIDA %d's coins/%s holds another AN for RAIDA %d than the wallet (an earlier exchange changed coin %s on RAIDA %d): its 45 would reject that key; send it through other nodes",
				o.To, coin.FileName(), via.ID, coin, via.ID)
		}
	}
	var down []error
	for _, r := range n.Echo(o.Transport, o.Timeout, o.A, o.B, o.To) {
		if !r.OK() {
			why := fmt.Sprint(r.Err)
			if r.Err == nil {
				why = "echo answered " + r.Status.String()
			}
			down = append(down, fmt.Errorf("RAIDA %d (%s) is down: %s", r.Node.ID, r.Node.Addr, why))
		}
	}
	if len(down) > 0 {
		return nil, &BadInputError{errors.Join(down...)}
	}

	enc := func(nd *Node) client.Encryption {
		if o.Type == 0 {
			return client.Encryption{}
		}
		return client.Encryption{Den: coin.Den, SN: coin.SN, AN: coin.AN(nd.ID)}
	}
	var nonce [8]byte
	rand.Read(nonce[:])
	var records []client.KeyRecord
	var parts [][]byte
	for split, via := range []*Node{a, b} {
		part := make([]byte, 8)
		rand.Read(part)
		r := client.NewRequest(abi.GroupKeys, abi.CommandEncrypt, client.EncryptKeyPayload(coin.Den, coin.SN, part), enc(via))
		r.Nonce = nonce
		resp, err := r.Do(via.client(o.Transport, o.Timeout))
		if err != nil {
			return nil, fmt.Errorf("44 on RAIDA %d (%s): %w", via.ID, via.Addr, err)
		}
		if resp.Header.Status != abi.StatusNoError {
			return nil, fmt.Errorf("44 on RAIDA %d (%s) answered %d %s", via.ID, via.Addr, resp.Header.Status, resp.Header.Status)
		}
		if _, err := client.OpenKeyBlock(r, coin.AN(via.ID), resp.Payload); err != nil {
			return nil, fmt.Errorf("44 on RAIDA %d: the block does not open under the wallet's AN there: %w", via.ID, err)
		}
		step(fmt.Sprintf("44 on RAIDA %d (%s), type %d: status 0, key block %x; K%d = %x", via.ID, via.Addr, o.Type, resp.Payload, split, part))
		records = append(records, client.KeyRecord{CoinID: uint16(t.Config.CoinID), Split: byte(split), Raida: byte(via.ID), Den: coin.Den, SN: coin.SN, Block: resp.Payload})
		parts = append(parts, part)
	}

	r45 := client.NewRequest(abi.GroupKeys, abi.CommandDecrypt, client.DecryptKeyPayload(coin.Den, coin.SN, records...), enc(t))
	r45.Nonce = nonce
	resp, err := r45.Do(t.client(o.Transport, o.Timeout))
	if err != nil {
		return nil, fmt.Errorf("45 on RAIDA %d (%s): %w (coin %s may or may not have changed there)", t.ID, t.Addr, err, coin)
	}
	if resp.Header.Status != abi.StatusSuccess || len(resp.Payload) != len(records) {
		return nil, fmt.Errorf("45 on RAIDA %d (%s) answered %d %s with payload %x", t.ID, t.Addr, resp.Header.Status, resp.Header.Status, resp.Payload)
	}
	step(fmt.Sprintf("45 on RAIDA %d (%s), type %d: records (RAIDA %d, split 0) and (RAIDA %d, split 1): status 250, answer %x", t.ID, t.Addr, o.Type, a.ID, b.ID, resp.Payload))
	newAN := append([]byte(nil), coin.AN(t.ID)...)
	accepted := 0
	for i, ok := range resp.Payload {
		if ok == 1 {
			copy(newAN[8*i:], parts[i])
			accepted++
		}
	}
	if accepted > 0 {
		copy(coin.AN(t.ID), newAN)
		if err := n.saveCoin(coin); err != nil {
			return nil, fmt.Errorf("45 on RAIDA %d changed coin %s to AN %x, but the wallet could not record it: %w", t.ID, coin, newAN, err)
		}
	}
	if accepted < len(records) {
		return nil, fmt.Errorf("45 on RAIDA %d rejected %d of 2 records (answer %x); coin %s's AN there is now %x, as the wallet records", t.ID, len(records)-accepted, resp.Payload, coin, newAN)
	}

	check := client.NewRequest(abi.GroupStatus, abi.CommandEcho, nil, client.Encryption{Den: coin.Den, SN: coin.SN, AN: newAN})
	resp, err = check.Do(t.client(o.Transport, o.Timeout))
	if err != nil {
		return nil, fmt.Errorf("type-1 echo on RAIDA %d under AN %x: %w", t.ID, newAN, err)
	}
	if resp.Header.Status != abi.StatusSuccess {
		return nil, fmt.Errorf("type-1 echo on RAIDA %d under AN %x answered %d %s: the node does not store that AN", t.ID, newAN, resp.Header.Status, resp.Header.Status)
	}
	step(fmt.Sprintf("echo on RAIDA %d, type 1 under K0 ‖ K1: status 250, challenge answer valid", t.ID))
	return newAN, nil
}
