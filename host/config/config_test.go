package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func load(t *testing.T, text string) (*Config, error) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return Load(path, dir)
}

// TestNodeFile reads a file as the C node has it: its own keys, keys of
// other tables and unknown keys are ignored, raidakx's keys default.
func TestNodeFile(t *testing.T) {
	c, err := load(t, `
[server]
raida_id = 14
coin_id = 6
port = 18000
threads = 8
backup_freq = 60
proxy_addr = "10.0.0.1"   # a key raidakx does not use
[legacy]
x = 1
`)
	if err != nil {
		t.Fatal(err)
	}
	if c.RaidaID != 14 || c.CoinID != 6 || c.Port != 18000 || c.Threads != 8 || c.BackupFreq.D() != time.Minute {
		t.Errorf("node keys: %+v", c)
	}
	if c.Listen != DefaultListen || c.Engine != "wazero" || c.Instances < 1 || c.RequestTimeout.D() != DefaultRequestTimeout ||
		c.MemoryLimit != DefaultMemoryLimit || c.MaxQueue != DefaultMaxQueue || c.GoMemoryLimit != DefaultGoMemoryLimit {
		t.Errorf("defaults: %+v", c)
	}
	if !strings.HasSuffix(c.CacheDir, "/cache") || !filepath.IsAbs(c.CacheDir) {
		t.Errorf("cache_dir %q", c.CacheDir)
	}
}

func TestTemplateLoads(t *testing.T) {
	c, err := load(t, Template(3, 7, 18003))
	if err != nil {
		t.Fatal(err)
	}
	if c.RaidaID != 3 || c.CoinID != 7 || c.Port != 18003 || c.Threads != DefaultThreads || c.MemoryLimit != 64<<20 {
		t.Errorf("template: %+v", c)
	}
}

func TestInvalid(t *testing.T) {
	tests := []struct{ text, want string }{
		{"[server]\nraida_id = 25\nport = 1", "raida_id 25"},
		{"[server]\ncoin_id = 70000\nport = 1", "coin_id 70000"},
		{"[server]\nport = 0", "port 0"},
		{"[server]\nport = 1\nmemory_limit = \"1MiB\"", "memory_limit"},
		{"[server]\nport = 1\nrequest_timeout = \"soon\"", "duration"},
		{"[server]\nport = 1\nmemory_limit = \"64MB\"", "KiB, MiB or GiB"},
		{"[server\nport = 1", "config"},
	}
	for _, tt := range tests {
		if _, err := load(t, tt.text); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want one mentioning %q", tt.text, err, tt.want)
		}
	}
}
