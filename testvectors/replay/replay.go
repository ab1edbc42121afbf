package replay

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/engine"
	"github.com/raidakx/raidakx/host/imports"
	"github.com/raidakx/raidakx/host/storage"
)

// Run replays v on a fresh instance of mod and returns nil when the
// response and every change of state are as the vector expects.
func Run(mod engine.Module, v *Vector, logger *slog.Logger) error {
	req, err := decodeHex("request_hex", v.RequestHex)
	if err != nil {
		return err
	}
	want, err := decodeHex("response_hex", v.ResponseHex)
	if err != nil {
		return err
	}
	random, err := decodeHex("random_hex", v.RandomHex)
	if err != nil {
		return err
	}
	records, err := recordMap(v.State.Records)
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	files, err := fileMap(v.State.Files)
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	wantRecords, err := recordMap(v.Expect.Records)
	if err != nil {
		return fmt.Errorf("expect: %w", err)
	}
	wantFiles, err := fileMap(v.Expect.Files)
	if err != nil {
		return fmt.Errorf("expect: %w", err)
	}
	if v.Config.RaidaID < 0 || v.Config.RaidaID >= abi.RaidaCount || v.Config.CoinID < 0 || v.Config.CoinID > 0xffff {
		return fmt.Errorf("config out of range: %+v", v.Config)
	}
	cfg := abi.Config{RaidaID: byte(v.Config.RaidaID), CoinID: uint16(v.Config.CoinID)}

	recs := storage.NewMemRecords(records)
	fls := storage.NewMemFiles(files)
	rnd := &finiteRandom{r: bytes.NewReader(random)}
	env := imports.NewEnv(&imports.Backend{
		Records: recs,
		Files:   fls,
		Random:  rnd,
		Clock:   func() time.Time { return time.Unix(v.TimeUnix, 0) },
		Logger:  logger,
	})
	inst, err := mod.Instantiate(env, cfg)
	if err != nil {
		return fmt.Errorf("instantiate: %w", err)
	}
	defer inst.Close()
	resp := make([]byte, abi.ResponseCap)
	// A trap is answered 252 by Serve; the vector decides whether that
	// was the expected answer.
	n, fault := engine.Serve(inst, env, cfg, req, resp)
	var problems []string
	if fault != nil && !bytes.Equal(resp[:n], want) {
		problems = append(problems, "module failed: "+fault.Error())
	}
	if rnd.exhausted {
		problems = append(problems, fmt.Sprintf("ran out of random bytes (the vector gives %d)", len(random)))
	}
	if p := compareResponse(req, resp[:n], want); p != "" {
		problems = append(problems, p)
	}
	problems = append(problems, compareRecords(records, recs.Snapshot(), wantRecords)...)
	problems = append(problems, compareFiles(files, fls.Snapshot(), wantFiles)...)
	if problems != nil {
		return errors.New(strings.Join(problems, "\n"))
	}
	return nil
}

// finiteRandom serves the vector's random bytes and notes a request for
// more than are left.
type finiteRandom struct {
	r         *bytes.Reader
	exhausted bool
}

func (f *finiteRandom) Read(p []byte) (int, error) {
	if len(p) > f.r.Len() {
		f.exhausted = true
		return 0, io.ErrUnexpectedEOF
	}
	return f.r.Read(p)
}

// compareResponse describes the first difference between got and want,
// the answers to req, ignoring the execution time: bytes 12-15, or 4-7 in
// the 48-byte answers of types 4 and 5 (PROTOCOL.md section 6.6).
func compareResponse(req, got, want []byte) string {
	micros := abi.OffRespMicros
	if len(req) > abi.OffEncryptionType && abi.Has48ByteHeader(req[abi.OffEncryptionType]) {
		micros = abi.Off48RespMicros
	}
	for i := 0; i < min(len(got), len(want)); i++ {
		if i >= micros && i < micros+4 {
			continue
		}
		if got[i] != want[i] {
			return fmt.Sprintf("response byte %d (%s): got %02x, want %02x\n  got  %x\n  want %x", i, responseField(i), got[i], want[i], got, want)
		}
	}
	if len(got) != len(want) {
		return fmt.Sprintf("response length: got %d, want %d\n  got  %x\n  want %x", len(got), len(want), got, want)
	}
	return ""
}

// responseField names the response field at offset i.
func responseField(i int) string {
	switch {
	case i == abi.OffRespStatus:
		return "status"
	case i == abi.OffRespGroup:
		return "group"
	case i >= abi.OffRespEcho && i < abi.OffRespEcho+2:
		return "echo"
	case i >= abi.OffRespBodyLength && i < abi.OffRespBodyLength+3:
		return "body length"
	case i >= abi.OffRespChallenge && i < abi.HeaderSize:
		return "challenge answer"
	case i >= abi.HeaderSize:
		return fmt.Sprintf("payload or trailer byte %d", i-abi.HeaderSize)
	}
	return "header"
}

func compareRecords(before, after, want map[storage.RecordKey]storage.Record) []string {
	var problems []string
	keys := slices.Collect(maps.Keys(after))
	keys = append(keys, slices.Collect(maps.Keys(want))...)
	slices.SortFunc(keys, func(a, b storage.RecordKey) int {
		if a.Den != b.Den {
			return int(a.Den) - int(b.Den)
		}
		return int(int64(a.SN) - int64(b.SN))
	})
	keys = slices.Compact(keys)
	for _, k := range keys {
		got, w := after[k], want[k]
		_, expected := want[k]
		changed := got != before[k]
		switch {
		case expected && got != w:
			problems = append(problems, fmt.Sprintf("record (%d, %d): got an %x mfs %d, want an %x mfs %d", k.Den, k.SN, got[:16], got[16], w[:16], w[16]))
		case !expected && changed:
			problems = append(problems, fmt.Sprintf("record (%d, %d) changed to an %x mfs %d; the vector expects no change", k.Den, k.SN, got[:16], got[16]))
		}
	}
	return problems
}

func compareFiles(before, after, want map[string][]byte) []string {
	var problems []string
	names := slices.Sorted(maps.Keys(after))
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if _, ok := after[name]; !ok {
			problems = append(problems, fmt.Sprintf("file %s: missing, want %x", name, want[name]))
		}
	}
	for _, name := range names {
		got := after[name]
		w, expected := want[name]
		old, existed := before[name]
		changed := !existed || !bytes.Equal(got, old)
		switch {
		case expected && !bytes.Equal(got, w):
			problems = append(problems, fmt.Sprintf("file %s: got %x, want %x", name, got, w))
		case !expected && changed:
			problems = append(problems, fmt.Sprintf("file %s changed to %x; the vector expects no change", name, got))
		}
	}
	return problems
}

func recordMap(recs []Record) (map[storage.RecordKey]storage.Record, error) {
	out := map[storage.RecordKey]storage.Record{}
	for _, r := range recs {
		an, err := decodeHex("an", r.AN)
		if err != nil {
			return nil, err
		}
		if len(an) != 16 || r.Den < abi.MinDen || r.Den > abi.MaxDen || r.SN >= abi.SNLimit || r.MFS < 0 || r.MFS > 255 {
			return nil, fmt.Errorf("invalid record %+v", r)
		}
		var rec storage.Record
		copy(rec[:], an)
		rec[16] = byte(r.MFS)
		out[storage.RecordKey{Den: int8(r.Den), SN: r.SN}] = rec
	}
	return out, nil
}

func fileMap(files map[string]string) (map[string][]byte, error) {
	out := map[string][]byte{}
	for name, h := range files {
		b, err := decodeHex(name, h)
		if err != nil {
			return nil, err
		}
		out[name] = b
	}
	return out, nil
}
