// Package format is the test vector file format (testvectors/README.md),
// shared by the generator and the replay harness. Other tools read the
// same JSON, so field names and meanings never change.
package format

// File is the top-level object of a vector file.
type File struct {
	Vectors []Vector `json:"vectors"`
}

// Vector is one request with the state before it and everything it must
// produce.
type Vector struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Config      Config `json:"config"`
	TimeUnix    int64  `json:"time_unix"`
	RandomHex   string `json:"random_hex"`
	State       State  `json:"state"`
	RequestHex  string `json:"request_hex"`
	ResponseHex string `json:"response_hex"` // "" when there is no answer
	Expect      State  `json:"expect"`
}

// Config is the node configuration a vector runs under.
type Config struct {
	RaidaID int `json:"raida_id"`
	CoinID  int `json:"coin_id"`
}

// State is a set of records and files (paths relative to the data root):
// the state before a request, or what a request changed.
type State struct {
	Records []Record          `json:"records"`
	Files   map[string]string `json:"files"`
}

// Record is one coin record; a den and sn not listed has AN all zero and
// MFS 0.
type Record struct {
	Den int    `json:"den"`
	SN  uint32 `json:"sn"`
	AN  string `json:"an"`
	MFS int    `json:"mfs"`
}
