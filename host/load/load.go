// Package load drives a running node with concurrent closed-loop clients
// for a fixed time or request count, checks every answer and reports
// throughput, latency percentiles and the count of each status.
package load

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/client"
)

// Options configures a run.
type Options struct {
	Node     client.Node
	Clients  int
	Duration time.Duration // stop after this long (0: no limit)
	Requests int64         // or after this many requests (0: no limit)
	Command  string        // echo, 41, 42, 43, 44, 45
	// Enc is the encryption of every request, of any type (0, 1, 4, 5);
	// the answers to types 4 and 5 are checked by client.Decode (tag,
	// then decryption). A 45 without Spread writes only den 2; with
	// Spread it keeps away from Enc's coins.
	Enc client.Encryption
	// Recipient is 44's coin and RecipientAN its AN on the node.
	Recipient   Coin
	RecipientAN []byte
	// Decryption is 45's decryption coin and DecryptionFile its coin file
	// (the 25 ANs at 40 + 16*i).
	Decryption     Coin
	DecryptionFile []byte
	// Records is the number of records of 45's batch (default 1).
	Records int
	// Spread spreads 44 and 45 over the whole coin database: 44's
	// recipient is a random one of SpreadCoins (the node's data root must
	// come from raidakx init -full; Recipient and RecipientAN are not
	// used), and each 45 record targets a random coin of any den and page
	// instead of one page of den 2.
	Spread bool
}

// Coin names a coin.
type Coin struct {
	Den int8
	SN  uint32
}

func (c Coin) bytes() []byte { return binary.BigEndian.AppendUint32([]byte{byte(c.Den)}, c.SN) }

// Result is what a run measured.
type Result struct {
	Requests  int64
	Errors    int64 // timeouts, transport errors, malformed or wrong answers
	Elapsed   time.Duration
	Latencies []time.Duration // sorted, one per answered request
	Statuses  map[abi.Status]int64
	FirstErr  error
}

// Percentile returns the p-th percentile (0 < p < 100) of the latencies.
func (r *Result) Percentile(p float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	i := int(float64(len(r.Latencies)) * p / 100)
	return r.Latencies[min(i, len(r.Latencies)-1)]
}

// String formats the result for a terminal.
func (r *Result) String() string {
	var b strings.Builder
	rate := float64(r.Requests) / r.Elapsed.Seconds()
	fmt.Fprintf(&b, "requests %d in %.2fs: %.0f/s, errors %d\n", r.Requests, r.Elapsed.Seconds(), rate, r.Errors)
	fmt.Fprintf(&b, "latency p50 %v p99 %v p99.9 %v max %v\n", r.Percentile(50), r.Percentile(99), r.Percentile(99.9), r.Percentile(100))
	statuses := make([]abi.Status, 0, len(r.Statuses))
	for s := range r.Statuses {
		statuses = append(statuses, s)
	}
	slices.Sort(statuses)
	for _, s := range statuses {
		fmt.Fprintf(&b, "status %d %s: %d\n", s, s, r.Statuses[s])
	}
	if r.FirstErr != nil {
		fmt.Fprintf(&b, "first error: %v\n", r.FirstErr)
	}
	return b.String()
}

// workload builds one request and checks its answer.
type workload struct {
	build func() *client.Request
	check func(r *client.Request, resp *client.Response) error
}

func (o *Options) workload() (*workload, error) {
	want := abi.StatusSuccess
	var payload func() []byte
	var check func(r *client.Request, resp *client.Response) error
	group, cmd := byte(abi.GroupKeys), byte(0)
	if o.Spread && o.Command != "44" && o.Command != "45" {
		return nil, fmt.Errorf("spread applies to 44 and 45, not %q", o.Command)
	}
	switch o.Command {
	case "echo":
		group = abi.GroupStatus
	case "42":
		cmd = abi.CommandAlert
	case "41":
		cmd = abi.CommandPostKey
		payload = func() []byte {
			id, key := make([]byte, 16), make([]byte, 32)
			rand.Read(id)
			rand.Read(key)
			return client.PostKeyPayload(id, 0, key)
		}
	case "43":
		cmd = abi.CommandGetKey
		payload = func() []byte { return make([]byte, 37) } // key id 00..00, posted by Run
	case "44":
		if !o.Spread && len(o.RecipientAN) != 16 {
			return nil, errors.New("44 needs the recipient's AN")
		}
		cmd, want = abi.CommandEncrypt, abi.StatusNoError
		recipient := func() []byte { return o.Recipient.bytes() }
		an := func([]byte) []byte { return o.RecipientAN }
		if o.Spread {
			recipient = func() []byte { return randomSpreadCoin().bytes() }
			an = func(coin []byte) []byte {
				a := SpreadAN(int8(coin[0]), binary.BigEndian.Uint32(coin[1:5]))
				return a[:]
			}
		}
		payload = func() []byte {
			p := append(recipient(), make([]byte, 8)...)
			rand.Read(p[5:])
			return p
		}
		check = func(r *client.Request, resp *client.Response) error {
			coin := r.Payload[:5]
			block := make([]byte, 16)
			r.InnerCTR(an(coin), block, resp.Payload) // the first 8 nonce bytes ‖ 0^8, every type
			if !bytes.Equal(block[:8], r.Payload[5:13]) || !bytes.Equal(block[8:13], coin) || block[15] != 0xff {
				return fmt.Errorf("44 block %x does not decrypt under the AN of recipient %d.%d", block, int8(coin[0]), binary.BigEndian.Uint32(coin[1:5]))
			}
			return nil
		}
	case "45":
		if len(o.DecryptionFile) != 440 {
			return nil, errors.New("45 needs the decryption coin's file")
		}
		cmd = abi.CommandDecrypt
		key, coin := o.DecryptionFile[40:56], o.Decryption.bytes() // records say RAIDA index 0
		n := max(o.Records, 1)
		// The records target one page (den 2, page 0: a denomination
		// the other workloads do not use), or with Spread any coin but
		// those whose AN the other workloads rely on; the key blocks are
		// made when the nonce is known.
		target := func() Coin {
			for {
				var sn [2]byte
				rand.Read(sn[:])
				if c := (Coin{Den: 2, SN: uint32(binary.BigEndian.Uint16(sn[:])) % abi.RecordsPerPage}); !isSpreadCoin(c) {
					return c
				}
			}
		}
		if o.Spread {
			keep := []Coin{o.Recipient, o.Decryption, {Den: o.Enc.Den, SN: o.Enc.SN}}
			if o.Enc.Code() == client.TypeTwoCoin {
				keep = append(keep, Coin{Den: o.Enc.Den2, SN: o.Enc.SN2})
			}
			target = func() Coin { return spreadTarget(keep) }
		}
		check = func(r *client.Request, resp *client.Response) error {
			if !bytes.Equal(resp.Payload, bytes.Repeat([]byte{1}, n)) {
				return fmt.Errorf("45 answer %x, want every record accepted", resp.Payload)
			}
			return nil
		}
		return &workload{
			build: func() *client.Request {
				r := client.NewRequest(group, cmd, nil, o.Enc)
				p := bytes.Clone(coin)
				for range n {
					t := target()
					block := make([]byte, 16)
					rand.Read(block[:8])
					block[8] = byte(t.Den)
					binary.BigEndian.PutUint32(block[9:], t.SN)
					block[15] = 0xff
					p = append(p, 0, 0, byte(t.SN&1), 0, 0, byte(t.Den))
					p = binary.BigEndian.AppendUint32(p, t.SN)
					enc := make([]byte, 16)
					r.InnerCTR(key, enc, block)
					p = append(p, enc...)
				}
				r.Payload = p
				return r
			},
			check: wantStatus(want, check),
		}, nil
	default:
		return nil, fmt.Errorf("unknown command %q (echo, 41, 42, 43, 44, 45)", o.Command)
	}
	return &workload{
		build: func() *client.Request {
			var p []byte
			if payload != nil {
				p = payload()
			}
			return client.NewRequest(group, cmd, p, o.Enc)
		},
		check: wantStatus(want, check),
	}, nil
}

func wantStatus(want abi.Status, next func(*client.Request, *client.Response) error) func(*client.Request, *client.Response) error {
	return func(r *client.Request, resp *client.Response) error {
		if resp.Header.Status != want {
			return fmt.Errorf("status %v, want %v", resp.Header.Status, want)
		}
		if next != nil {
			return next(r, resp)
		}
		return nil
	}
}

// Run drives the node and returns what it measured.
func Run(o Options) (*Result, error) {
	if o.Clients < 1 || (o.Duration <= 0 && o.Requests <= 0) {
		return nil, errors.New("load: need clients and a duration or a request count")
	}
	w, err := o.workload()
	if err != nil {
		return nil, err
	}
	if o.Command == "43" { // make sure the key exists
		p := client.PostKeyPayload(make([]byte, 16), 0, make([]byte, 32))
		if _, err := client.NewRequest(abi.GroupKeys, abi.CommandPostKey, p, o.Enc).Do(o.Node); err != nil {
			return nil, fmt.Errorf("post the key 43 reads: %w", err)
		}
	}
	var (
		issued  atomic.Int64
		mu      sync.Mutex
		wg      sync.WaitGroup
		res     = &Result{Statuses: map[abi.Status]int64{}}
		stopped atomic.Bool
	)
	start := time.Now()
	if o.Duration > 0 {
		time.AfterFunc(o.Duration, func() { stopped.Store(true) })
	}
	for range o.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, 4096)
			statuses := map[abi.Status]int64{}
			var errs int64
			var first error
			ex := newExchanger(o.Node)
			defer ex.close()
			for !stopped.Load() && (o.Requests <= 0 || issued.Add(1) <= o.Requests) {
				r := w.build()
				t0 := time.Now()
				raw, err := ex.exchange(r.Encode(o.Node))
				d := time.Since(t0)
				var resp *client.Response
				if err == nil {
					resp, err = r.Decode(raw)
				}
				if err == nil {
					statuses[resp.Header.Status]++
					err = w.check(r, resp)
				}
				if err != nil {
					errs++
					if first == nil {
						first = err
					}
					continue
				}
				lat = append(lat, d)
			}
			mu.Lock()
			defer mu.Unlock()
			res.Latencies = append(res.Latencies, lat...)
			res.Errors += errs
			for s, c := range statuses {
				res.Statuses[s] += c
			}
			if res.FirstErr == nil {
				res.FirstErr = first
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	sort.Slice(res.Latencies, func(i, j int) bool { return res.Latencies[i] < res.Latencies[j] })
	res.Requests = int64(len(res.Latencies)) + res.Errors
	return res, nil
}

// exchanger sends requests: over one connected UDP socket per client, or
// a new TCP connection per request as the protocol has it.
type exchanger struct {
	n   client.Node
	udp net.Conn
	buf []byte
}

func newExchanger(n client.Node) *exchanger {
	return &exchanger{n: n, buf: make([]byte, abi.ResponseCap)}
}

func (e *exchanger) exchange(packet []byte) ([]byte, error) {
	timeout := e.n.Timeout
	if timeout == 0 {
		timeout = time.Second
	}
	if e.n.Network == "tcp" {
		c, err := net.DialTimeout("tcp", e.n.Addr, timeout)
		if err != nil {
			return nil, err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(timeout))
		if _, err := c.Write(packet); err != nil {
			return nil, err
		}
		return io.ReadAll(io.LimitReader(c, abi.ResponseCap))
	}
	if e.udp == nil {
		c, err := net.Dial("udp", e.n.Addr)
		if err != nil {
			return nil, err
		}
		e.udp = c
	}
	e.udp.SetDeadline(time.Now().Add(timeout))
	if _, err := e.udp.Write(packet); err != nil {
		return nil, err
	}
	for {
		k, err := e.udp.Read(e.buf)
		if err != nil {
			// A lost datagram: start over on a fresh socket so a late
			// answer is not taken for the next request's.
			e.udp.Close()
			e.udp = nil
			return nil, err
		}
		if matches(packet, e.buf[:k]) {
			return e.buf[:k], nil
		}
	}
}

// matches reports whether answer can be the one to packet, by the two
// nonce bytes every answer echoes: bytes 6-7 of the 32-byte form echo
// request bytes 30-31, and bytes 46-47 of the 48-byte form of types 4 and
// 5 echo request bytes 46-47.
func matches(packet, answer []byte) bool {
	if len(packet) >= abi.Header48Size && abi.Has48ByteHeader(packet[abi.OffEncryptionType]) {
		return len(answer) >= abi.Header48Size && bytes.Equal(answer[abi.Off48RespNonceEcho:abi.Header48Size], packet[abi.Header48Size-2:abi.Header48Size])
	}
	return len(answer) >= 8 && bytes.Equal(answer[6:8], packet[30:32])
}

func (e *exchanger) close() {
	if e.udp != nil {
		e.udp.Close()
	}
}
