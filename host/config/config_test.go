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
	if c.MaxConnectionsPerIP != DefaultMaxConnectionsPerIP || c.ReadTimeout.D() != DefaultReadTimeout ||
		c.IOTimeout.D() != DefaultIOTimeout || c.ShutdownTimeout.D() != DefaultShutdownTimeout {
		t.Errorf("defaults: %+v", c)
	}
}

// TestCacheDir: the compilation cache defaults to the user's cache folder,
// never the data root (whose writers must not run code in raidakx);
// "off" turns it off and a relative path is relative to the data root.
func TestCacheDir(t *testing.T) {
	xdg, home := t.TempDir(), t.TempDir()
	tests := []struct {
		name, xdg, line string
		want            func(dataRoot string) string
	}{
		{"XDG_CACHE_HOME", xdg, "", func(string) string { return filepath.Join(xdg, "raidakx") }},
		{"HOME", "", "", func(string) string { return filepath.Join(home, ".cache", "raidakx") }},
		{"off", xdg, `cache_dir = "off"`, func(string) string { return "" }},
		{"absolute", xdg, `cache_dir = "/var/cache/rk"`, func(string) string { return "/var/cache/rk" }},
		{"relative", xdg, `cache_dir = "../cc"`, func(root string) string { return filepath.Join(filepath.Dir(root), "cc") }},
		// Inside the data root (an earlier init wrote cache_dir = "cache"):
		// refused, since whoever writes the data root could plant code.
		{"in the data root", xdg, `cache_dir = "cache"`, nil},
		{"the data root itself", xdg, `cache_dir = "."`, nil},
		{"in the data root, absolute", xdg, `cache_dir = "DATAROOT/x/y"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("XDG_CACHE_HOME", tt.xdg)
			t.Setenv("HOME", home)
			dir := t.TempDir()
			path := filepath.Join(dir, "config.toml")
			line := strings.ReplaceAll(tt.line, "DATAROOT", dir)
			if err := os.WriteFile(path, []byte("[server]\nport = 1\n"+line+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := Load(path, dir)
			if tt.want == nil {
				if err == nil || !strings.Contains(err.Error(), "inside the data root") {
					t.Fatalf("cache_dir %q: err %v, want refused as inside the data root", c.CacheDir, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := tt.want(dir); c.CacheDir != want {
				t.Errorf("cache_dir %q, want %q", c.CacheDir, want)
			}
			if c.CacheDir != "" && strings.HasPrefix(c.CacheDir, dir+"/") {
				t.Errorf("cache_dir %q inside the data root", c.CacheDir)
			}
		})
	}
}

// TestMaxQueueZero: max_queue = 0 is kept (no request waits for an
// instance), where an absent max_queue gets the default.
func TestMaxQueueZero(t *testing.T) {
	for _, tt := range []struct {
		line string
		want int
	}{{"max_queue = 0", 0}, {"", DefaultMaxQueue}, {"max_queue = 7", 7}} {
		c, err := load(t, "[server]\nport = 1\n"+tt.line)
		if err != nil {
			t.Fatal(err)
		}
		if c.MaxQueue != tt.want {
			t.Errorf("%q: max_queue %d, want %d", tt.line, c.MaxQueue, tt.want)
		}
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
		{"[server]\nport = 1\nmax_queue = -1", "max_queue"},
		{"[server]\nport = 1\nmax_connections_per_ip = -2", "max_connections_per_ip"},
		{"[server]\nport = 1\nread_timeout = \"-1s\"", "read_timeout -1s"},
		{"[server]\nport = 1\nshutdown_timeout = \"-1s\"", "shutdown_timeout -1s"},
	}
	for _, tt := range tests {
		if _, err := load(t, tt.text); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want one mentioning %q", tt.text, err, tt.want)
		}
	}
}
