package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

func mustGenerate(t *testing.T) map[string][]byte {
	t.Helper()
	files, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// allVectors decodes the generated files; map key is the file name.
func allVectors(t *testing.T) map[string][]*Vector {
	t.Helper()
	out := map[string][]*Vector{}
	for name, b := range mustGenerate(t) {
		var f file
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = f.Vectors
	}
	return out
}

func TestNamesUniqueAndGrouped(t *testing.T) {
	seen := map[string]bool{}
	total := 0
	for file, vs := range allVectors(t) {
		group := strings.TrimSuffix(file, ".json")
		for _, v := range vs {
			total++
			if seen[v.Name] {
				t.Errorf("duplicate name %q", v.Name)
			}
			seen[v.Name] = true
			if !strings.HasPrefix(v.Name, group+"/") {
				t.Errorf("%s: vector %q not in group %q", file, v.Name, group)
			}
		}
	}
	if total < 70 {
		t.Errorf("only %d vectors", total)
	}
}

var (
	lowerHex = regexp.MustCompile(`^([0-9a-f]{2})*$`)
	filePath = regexp.MustCompile(`^(coins/[0-9a-f]{2}\.[0-9]+\.bin|Keys/[0-9a-f]{32})$`)
)

func decodeHex(t *testing.T, where, s string) []byte {
	t.Helper()
	if !lowerHex.MatchString(s) {
		t.Errorf("%s: not lowercase hex: %q", where, s)
		return nil
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Errorf("%s: %v", where, err)
	}
	return b
}

func TestHexDecodes(t *testing.T) {
	for _, vs := range allVectors(t) {
		for _, v := range vs {
			decodeHex(t, v.Name+" random_hex", v.RandomHex)
			decodeHex(t, v.Name+" request_hex", v.RequestHex)
			decodeHex(t, v.Name+" response_hex", v.ResponseHex)
			for _, s := range []State{v.State, v.Expect} {
				if s.Records == nil || s.Files == nil {
					t.Errorf("%s: nil records or files", v.Name)
				}
				for _, r := range s.Records {
					if an := decodeHex(t, v.Name+" an", r.AN); len(an) != 16 {
						t.Errorf("%s: AN of (%d,%d) is %d bytes", v.Name, r.Den, r.SN, len(an))
					}
					if r.Den < -8 || r.Den > 6 || r.SN >= 1024000 || r.MFS < 0 || r.MFS > 255 {
						t.Errorf("%s: invalid record %+v", v.Name, r)
					}
				}
				for p, c := range s.Files {
					if !filePath.MatchString(p) {
						t.Errorf("%s: bad file path %q", v.Name, p)
					}
					decodeHex(t, v.Name+" "+p, c)
				}
			}
		}
	}
}

// TestResponseShape checks the fields every response shares with its
// request (PROTOCOL.md section 2).
func TestResponseShape(t *testing.T) {
	for _, vs := range allVectors(t) {
		for _, v := range vs {
			req, _ := hex.DecodeString(v.RequestHex)
			resp, _ := hex.DecodeString(v.ResponseHex)
			if len(req) >= 17 && (req[16] == 4 || req[16] == 5) {
				checkShape48(t, v, req, resp)
				continue
			}
			if len(req) < 32 {
				if len(resp) != 0 {
					t.Errorf("%s: answer to a %d-byte packet", v.Name, len(req))
				}
				continue
			}
			if len(resp) < 32 {
				t.Errorf("%s: response of %d bytes", v.Name, len(resp))
				continue
			}
			if int(resp[0]) != v.Config.RaidaID || resp[1] != 0 || resp[4] != 0 || resp[5] != 1 || resp[8] != 0 {
				t.Errorf("%s: fixed response bytes wrong: % x", v.Name, resp[:9])
			}
			if !bytes.Equal(resp[6:8], req[30:32]) {
				t.Errorf("%s: echo bytes", v.Name)
			}
			if !bytes.Equal(resp[12:16], []byte{0, 0, 0, 0}) {
				t.Errorf("%s: bytes 12-15 not zero", v.Name)
			}
			n := int(resp[9])<<16 | int(resp[10])<<8 | int(resp[11])
			switch {
			case n == 0 && len(resp) != 32:
				t.Errorf("%s: length 0 but %d bytes", v.Name, len(resp))
			case n != 0 && (n < 3 || len(resp) != 32+n || !bytes.HasSuffix(resp, []byte{0x3e, 0x3e})):
				t.Errorf("%s: length field %d, %d bytes", v.Name, n, len(resp))
			}
			// Type 0 with an answered challenge returns it as received.
			if req[16] == 0 && len(req) >= 48 && !bytes.Equal(resp[16:32], make([]byte, 16)) &&
				!bytes.Equal(resp[16:32], req[32:48]) {
				t.Errorf("%s: type 0 challenge answer differs from the challenge", v.Name)
			}
		}
	}
}

// checkShape48 checks the fields every 48-byte response (PROTOCOL.md
// section 6.6) shares with its request.
func checkShape48(t *testing.T, v *Vector, req, resp []byte) {
	t.Helper()
	if len(resp) < 48 {
		t.Errorf("%s: type-%d response of %d bytes", v.Name, req[16], len(resp))
		return
	}
	zero := func(b []byte) bool { return bytes.Equal(b, make([]byte, len(b))) }
	if int(resp[0]) != v.Config.RaidaID || resp[1] != 0 || !zero(resp[4:9]) || !zero(resp[12:16]) || !zero(resp[22:24]) {
		t.Errorf("%s: fixed response bytes wrong: % x", v.Name, resp[:24])
	}
	if resp[16] != req[16] {
		t.Errorf("%s: byte 16 %d, request %d", v.Name, resp[16], req[16])
	}
	tail := []byte{0, 0}
	if len(req) >= 48 {
		tail = req[46:48]
	}
	if !bytes.Equal(resp[46:48], tail) {
		t.Errorf("%s: bytes 46-47 % x, want % x", v.Name, resp[46:48], tail)
	}
	if !zero(resp[17:22]) && (len(req) < 48 || !bytes.Equal(resp[17:22], req[19:24])) {
		t.Errorf("%s: den/sn % x not the request's coin 1", v.Name, resp[17:22])
	}
	if r := unhex(v.RandomHex); len(r) < 22 || !bytes.Equal(resp[24:46], r[:22]) {
		t.Errorf("%s: bytes 24-45 are not the first 22 random bytes", v.Name)
	}
	n := int(resp[9])<<16 | int(resp[10])<<8 | int(resp[11])
	switch {
	case n == 0 && len(resp) != 48:
		t.Errorf("%s: length 0 but %d bytes", v.Name, len(resp))
	case n != 0 && (n < 35 || len(resp) != 48+n || !bytes.HasSuffix(resp, []byte{0x3e, 0x3e})):
		t.Errorf("%s: length field %d, %d bytes", v.Name, n, len(resp))
	}
}

func TestCRCExample(t *testing.T) {
	if got := hx(crc(unhex("000102030405060708090a0b"))); got != "9270c965" {
		t.Fatalf("CRC = %s, want 9270c965", got)
	}
}

// TestFactsType1Echo: the facts' encrypted body decrypts with the initial
// block nonce||00*8 to a challenge with a valid CRC, and the vector's
// challenge answer is the facts' observed value.
func TestFactsType1Echo(t *testing.T) {
	const want = "820b3dc5f3d09c65ced0098f174a13ac"
	an := unhex(factsAN15)
	ch := ctr(an, unhex("1122334455667788"), 0, unhex("83a733f9293fd20c4163a0827fa07efe"))
	if !bytes.Equal(crc(ch[:12]), ch[12:16]) {
		t.Fatalf("decrypted challenge %x has a bad CRC", ch)
	}
	if got := hx(xor(ch, an)); got != want {
		t.Fatalf("answer %s, want %s", got, want)
	}
	for _, v := range allVectors(t)["echo.json"] {
		if v.Name == "echo/facts-type1" {
			resp := unhex(v.ResponseHex)
			if got := hx(resp[16:32]); got != want {
				t.Fatalf("vector answer %s, want %s", got, want)
			}
			return
		}
	}
	t.Fatal("echo/facts-type1 missing")
}

func TestMFS(t *testing.T) {
	for _, c := range []struct {
		t    int64
		want int
	}{{1795000000, 45}, {utc("2027-01-01T00:00:00Z"), 47}, {utc("2023-01-31T23:59:59Z"), 255}, {utc("2023-02-01T00:00:00Z"), 0}} {
		if got := mfsAt(c.t); got != c.want {
			t.Errorf("MFS(%d) = %d, want %d", c.t, got, c.want)
		}
	}
}

func TestDeterministic(t *testing.T) {
	a, b := mustGenerate(t), mustGenerate(t)
	if len(a) != len(b) {
		t.Fatal("different file sets")
	}
	for n := range a {
		if !bytes.Equal(a[n], b[n]) {
			t.Errorf("%s differs between two runs", n)
		}
	}
}

// TestCommittedFilesFresh: the JSON files in testvectors/ are exactly what
// the generator writes now (run `go run ./testvectors/gen -out testvectors`).
func TestCommittedFilesFresh(t *testing.T) {
	fresh := mustGenerate(t)
	onDisk, err := filepath.Glob(filepath.Join("..", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range onDisk {
		names = append(names, filepath.Base(p))
	}
	var want []string
	for n := range fresh {
		want = append(want, n)
	}
	sort.Strings(names)
	sort.Strings(want)
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("testvectors/*.json = %v, generator writes %v", names, want)
	}
	for n, b := range fresh {
		got, err := os.ReadFile(filepath.Join("..", n))
		if err != nil {
			t.Errorf("%s: %v", n, err)
			continue
		}
		if !bytes.Equal(got, b) {
			t.Errorf("testvectors/%s is stale: regenerate it", n)
		}
	}
}
