// Package replay loads test vector files and replays them against an
// engine.Module. The format is fixed (testvectors/README.md): other tools
// read the same files.
package replay

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// File is one vector file.
type File struct {
	Vectors []Vector `json:"vectors"`
}

// Vector is one request with the state before it and everything it must
// produce.
type Vector struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Config      struct {
		RaidaID int `json:"raida_id"`
		CoinID  int `json:"coin_id"`
	} `json:"config"`
	TimeUnix    int64  `json:"time_unix"`
	RandomHex   string `json:"random_hex"`
	State       State  `json:"state"`
	RequestHex  string `json:"request_hex"`
	ResponseHex string `json:"response_hex"`
	Expect      State  `json:"expect"`
}

// State is a set of records and files: the state before a request, or
// what a request changed.
type State struct {
	Records []Record          `json:"records"`
	Files   map[string]string `json:"files"`
}

// Record is one coin record; den and sn not listed anywhere have AN all
// zero and MFS 0.
type Record struct {
	Den int    `json:"den"`
	SN  uint32 `json:"sn"`
	AN  string `json:"an"`
	MFS int    `json:"mfs"`
}

// Load reads the vectors of every path: a JSON file, or a folder whose
// *.json files (not recursively) are read in name order.
func Load(paths ...string) ([]Vector, error) {
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		matches, err := fs.Glob(os.DirFS(p), "*.json")
		if err != nil {
			return nil, err
		}
		slices.Sort(matches)
		for _, m := range matches {
			files = append(files, filepath.Join(p, m))
		}
	}
	var out []Vector
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		var f File
		dec := json.NewDecoder(strings.NewReader(string(data)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out = append(out, f.Vectors...)
	}
	return out, nil
}

func decodeHex(field, s string) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	return b, nil
}
