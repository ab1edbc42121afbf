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

	"github.com/raidakx/raidakx/testvectors/format"
)

// The vector format's types.
type (
	Vector = format.Vector
	State  = format.State
	Record = format.Record
)

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
		var f format.File
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
