// Command gen writes the raidakx test vectors: the JSON files in
// testvectors/ that pin, byte for byte, what the key-exchange WebAssembly
// module must answer to one request packet (docs/PROTOCOL.md).
//
// Usage:
//
//	cd /work/main && go run ./testvectors/gen -out testvectors
//
// Independence rule: this generator must not share code with the module it
// tests. It imports nothing from the repository, only the Go standard
// library (crypto/aes, crypto/cipher NewCTR, crypto/sha256, crypto/hmac,
// hash/crc32 ChecksumIEEE, encoding/binary BigEndian, encoding/hex,
// encoding/json). Every request and
// every expected response is built explicitly by the vector's own builder:
// header bytes are written field by field, the status and payload a vector
// expects are decided by the builder from how it constructed the request,
// not by a second implementation of the request dispatcher. Only small
// helpers are shared (CTR, CRC, header and body assemblers).
//
// Output is deterministic: no clock and no crypto/rand. Every
// "random-looking" value (ANs, nonces, challenges, keys, random draws) is
// derived from SHA-256 of a fixed label, so running the generator twice
// gives byte-identical files.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/raidakx/raidakx/testvectors/format"
)

// The format's types, under the names the builders use.
type (
	Config = format.Config
	Record = format.Record
	State  = format.State
)

// Vector is a format.Vector with the builders' methods (util.go); JSON
// encodes the embedded fields as they are.
type Vector struct{ format.Vector }

// file is a vector file as the builders make it.
type file struct {
	Vectors []*Vector `json:"vectors"`
}

// groups lists the vector files in output order: file "<group>.json" holds
// the vectors named "<group>/...".
var groups = []struct {
	name  string
	build func() []*Vector
}{
	{"header", headerVectors},
	{"body", bodyVectors},
	{"echo", echoVectors},
	{"k41", k41Vectors},
	{"k42", k42Vectors},
	{"k43", k43Vectors},
	{"k44", k44Vectors},
	{"k45", k45Vectors},
	{"roundtrip", roundtripVectors},
	{"types45", types45Vectors},
}

// generate builds every vector file; the map is file name -> file bytes.
func generate() (map[string][]byte, error) {
	out := make(map[string][]byte)
	seen := make(map[string]string)
	for _, g := range groups {
		vs := g.build()
		for _, v := range vs {
			if err := check(g.name, v); err != nil {
				return nil, err
			}
			if prev, ok := seen[v.Name]; ok {
				return nil, fmt.Errorf("duplicate vector name %q (also in %s)", v.Name, prev)
			}
			seen[v.Name] = g.name
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(file{Vectors: vs}); err != nil {
			return nil, err
		}
		out[g.name+".json"] = buf.Bytes()
	}
	return out, nil
}

// check normalises a vector (empty instead of nil collections, sorted
// records) and rejects malformed ones.
func check(group string, v *Vector) error {
	if !strings.HasPrefix(v.Name, group+"/") || len(v.Name) == len(group)+1 {
		return fmt.Errorf("vector %q is not named %s/...", v.Name, group)
	}
	for _, s := range []*State{&v.State, &v.Expect} {
		if s.Records == nil {
			s.Records = []Record{}
		}
		if s.Files == nil {
			s.Files = map[string]string{}
		}
	}
	sort.SliceStable(v.Expect.Records, func(i, j int) bool {
		a, b := v.Expect.Records[i], v.Expect.Records[j]
		if a.Den != b.Den {
			return a.Den < b.Den
		}
		return a.SN < b.SN
	})
	if v.Description == "" {
		return fmt.Errorf("vector %q has no description", v.Name)
	}
	for _, h := range []string{v.RandomHex, v.RequestHex, v.ResponseHex} {
		if h != strings.ToLower(h) || len(h)%2 != 0 {
			return fmt.Errorf("vector %q: bad hex %q", v.Name, h)
		}
	}
	if v.ResponseHex != "" && len(v.ResponseHex) < 64 {
		return fmt.Errorf("vector %q: response shorter than 32 bytes", v.Name)
	}
	return nil
}

func main() {
	outDir := flag.String("out", "testvectors", "directory the JSON files are written to")
	flag.Parse()
	files, err := generate()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(*outDir, n), files[n], 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
	}
}
