// Package config reads a RAIDA node's config.toml: the node's own keys of
// the [server] table, which raidakx shares with the C node, and raidakx's
// keys in the same table, each with a safe default. Keys neither uses are
// ignored, so an existing node's file works as it is.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/raidakx/raidakx/abi"
)

// Config is the [server] table.
type Config struct {
	// The node's keys.
	RaidaID    int      `toml:"raida_id"`
	CoinID     int      `toml:"coin_id"`
	Port       int      `toml:"port"`
	Threads    int      `toml:"threads"`     // UDP receive goroutines; default DefaultThreads
	BackupFreq Duration `toml:"backup_freq"` // seconds; bound on write-back of unsynced pages

	// raidakx's keys.
	Listen              string   `toml:"listen"`                 // address to bind, default 127.0.0.1
	Engine              string   `toml:"engine"`                 // default wazero
	Instances           int      `toml:"instances"`              // warm module instances, default NumCPU
	RequestTimeout      Duration `toml:"request_timeout"`        // bounds each wait of a request (instance, module, page lock, sync), default 1s
	MemoryLimit         Size     `toml:"memory_limit"`           // per instance, default 64 MiB
	CacheDir            string   `toml:"cache_dir"`              // compiled-code cache, absolute; default DefaultCacheDir, "" when "off"
	MetricsListen       string   `toml:"metrics_listen"`         // Prometheus endpoint, default off
	OpenFiles           int      `toml:"open_files"`             // page files kept open, default all that RLIMIT_NOFILE allows
	JournalMax          Size     `toml:"journal_max"`            // journal size past which writes fail, default 64 MiB
	MaxConnections      int      `toml:"max_connections"`        // open TCP connections, default 512
	MaxConnectionsPerIP int      `toml:"max_connections_per_ip"` // TCP connections of one address (IPv6: one /64) receiving their request, default 16
	MaxQueue            int      `toml:"max_queue"`              // requests waiting for an instance, default 256; 0: none waits
	ReadTimeout         Duration `toml:"read_timeout"`           // to receive a whole TCP request, from accept, default 2s
	IOTimeout           Duration `toml:"io_timeout"`             // to send a TCP answer once it is ready, default 5s
	ShutdownTimeout     Duration `toml:"shutdown_timeout"`       // the whole graceful stop, default 30s
	GoMemoryLimit       Size     `toml:"go_memory_limit"`        // the runtime's soft heap limit, default 64 MiB
}

// Defaults.
const (
	DefaultListen = "127.0.0.1"
	// DefaultThreads UDP receive goroutines: a goroutine waits with its
	// request for the group commit, so their number bounds how many
	// datagrams one sync round can acknowledge.
	DefaultThreads        = 64
	DefaultRequestTimeout = time.Second
	DefaultMemoryLimit    = 64 << 20
	DefaultJournalMax     = 64 << 20
	DefaultBackupFreq     = 300 * time.Second
	DefaultMaxConnections = 512
	// DefaultMaxConnectionsPerIP lets one address hold a few connections
	// (a client's concurrent requests) and never all of them: slow
	// clients behind one address cannot lock the others out.
	DefaultMaxConnectionsPerIP = 16
	DefaultMaxQueue            = 256
	// DefaultReadTimeout is the whole-request deadline: a request of at
	// most 65,567 bytes arrives well within it on any working link, and a
	// client trickling bytes gains nothing by sending often.
	DefaultReadTimeout     = 2 * time.Second
	DefaultIOTimeout       = 5 * time.Second
	DefaultShutdownTimeout = 30 * time.Second
	// DefaultGoMemoryLimit is the Go runtime's soft limit (GOMEMLIMIT):
	// above it the collector runs sooner and returns freed memory to the
	// system. Instance memories live in the Go heap; without a limit the
	// heap doubles before a collection and RSS with it.
	DefaultGoMemoryLimit = 64 << 20
)

type file struct {
	Server Config `toml:"server"`
}

// Load reads path and fills in defaults; relative paths in it are relative
// to dataRoot.
func Load(path, dataRoot string) (*Config, error) {
	var f file
	md, err := toml.DecodeFile(path, &f)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	c := &f.Server
	if err := c.setDefaults(dataRoot, md.IsDefined("server", "max_queue")); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// setDefaults fills in every key left out (or 0). max_queue = 0 is a
// setting (no request waits), so it is only defaulted when absent.
func (c *Config) setDefaults(dataRoot string, maxQueueSet bool) error {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.Engine == "" {
		c.Engine = "wazero"
	}
	if c.Instances <= 0 {
		c.Instances = runtime.NumCPU()
	}
	if c.Threads <= 0 {
		c.Threads = max(DefaultThreads, c.Instances)
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = Duration(DefaultRequestTimeout)
	}
	if c.MemoryLimit == 0 {
		c.MemoryLimit = DefaultMemoryLimit
	}
	if c.JournalMax == 0 {
		c.JournalMax = DefaultJournalMax
	}
	if c.BackupFreq == 0 {
		c.BackupFreq = Duration(DefaultBackupFreq)
	}
	if c.MaxConnections == 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	if c.MaxConnectionsPerIP == 0 {
		c.MaxConnectionsPerIP = DefaultMaxConnectionsPerIP
	}
	if !maxQueueSet {
		c.MaxQueue = DefaultMaxQueue
	}
	if c.GoMemoryLimit == 0 {
		c.GoMemoryLimit = DefaultGoMemoryLimit
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = Duration(DefaultReadTimeout)
	}
	if c.IOTimeout == 0 {
		c.IOTimeout = Duration(DefaultIOTimeout)
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = Duration(DefaultShutdownTimeout)
	}
	switch c.CacheDir {
	case CacheOff:
		c.CacheDir = ""
	case "":
		dir, err := DefaultCacheDir()
		if err != nil {
			return err
		}
		c.CacheDir = dir
	default:
		if !filepath.IsAbs(c.CacheDir) {
			c.CacheDir = filepath.Join(dataRoot, c.CacheDir)
		}
		if within(dataRoot, c.CacheDir) {
			return fmt.Errorf("cache_dir %s is inside the data root: whoever can write the data root (the C node, a backup restore, a shared volume) could put machine code there that raidakx runs outside the sandbox; "+
				"remove cache_dir from config.toml (the default is ~/.cache/raidakx) or name a folder outside the data root", c.CacheDir)
		}
	}
	return nil
}

// within reports whether path is dir or lies under it, by their absolute
// names.
func within(dir, path string) bool {
	d, err1 := filepath.Abs(dir)
	p, err2 := filepath.Abs(path)
	if err1 != nil || err2 != nil {
		return true // cannot tell: refuse
	}
	rel, err := filepath.Rel(d, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// CacheOff is the cache_dir value that turns the compilation cache off:
// every start compiles the module again (about a second with wazero).
const CacheOff = "off"

// DefaultCacheDir returns the compilation cache used when cache_dir is
// absent: raidakx in the user's cache folder ($XDG_CACHE_HOME, else
// ~/.cache on Linux; os.UserCacheDir), a folder of the user running
// raidakx rather than of the data root, because whoever can write the
// cache can run code outside the sandbox (SECURITY.md).
func DefaultCacheDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("cache_dir: no default (%v): set cache_dir to a folder only this user can write, or cache_dir = %q", err, CacheOff)
	}
	return filepath.Join(dir, "raidakx"), nil
}

func (c *Config) validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(c.RaidaID >= 0 && c.RaidaID < abi.RaidaCount, "raida_id %d: want 0..24", c.RaidaID)
	check(c.CoinID >= 0 && c.CoinID <= 0xffff, "coin_id %d: want 0..65535", c.CoinID)
	check(c.Port > 0 && c.Port <= 0xffff, "port %d: want 1..65535", c.Port)
	check(c.Instances > 0 && c.Instances <= 1024, "instances %d: want 1..1024", c.Instances)
	check(c.Threads > 0 && c.Threads <= 1024, "threads %d: want 1..1024", c.Threads)
	check(c.MemoryLimit >= 16<<20 && c.MemoryLimit <= 4<<30, "memory_limit %d: want 16MiB..4GiB", c.MemoryLimit)
	check(c.MaxConnections > 0, "max_connections must be positive")
	check(c.MaxConnectionsPerIP > 0, "max_connections_per_ip must be positive")
	check(c.MaxQueue >= 0, "max_queue must not be negative")
	check(c.OpenFiles >= 0, "open_files must not be negative")
	check(c.JournalMax >= 1<<20, "journal_max %d: want at least 1MiB", c.JournalMax)
	for _, d := range []struct {
		key string
		d   Duration
	}{{"request_timeout", c.RequestTimeout}, {"read_timeout", c.ReadTimeout}, {"io_timeout", c.IOTimeout}, {"shutdown_timeout", c.ShutdownTimeout}, {"backup_freq", c.BackupFreq}} {
		check(d.d > 0, "%s %v: want a positive duration", d.key, d.d.D())
	}
	return errors.Join(errs...)
}

// Node returns the identity the module is configured with.
func (c *Config) Node() abi.Config {
	return abi.Config{RaidaID: byte(c.RaidaID), CoinID: uint16(c.CoinID)}
}

// Duration is a TOML duration: a string such as "1.5s" or "300ms", or an
// integer number of seconds (the node's backup_freq is one).
type Duration time.Duration

// UnmarshalTOML implements toml.Unmarshaler.
func (d *Duration) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case int64:
		*d = Duration(time.Duration(v) * time.Second)
	case string:
		p, err := time.ParseDuration(v)
		if err != nil {
			return err
		}
		*d = Duration(p)
	default:
		return fmt.Errorf("duration: want a string like \"2s\" or seconds, got %T", v)
	}
	return nil
}

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Size is a byte count: an integer, or a string with a KiB, MiB or GiB
// suffix.
type Size int64

// UnmarshalTOML implements toml.Unmarshaler.
func (s *Size) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case int64:
		*s = Size(v)
		return nil
	case string:
		for _, u := range []struct {
			suffix string
			mult   int64
		}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"B", 1}} {
			if num, ok := strings.CutSuffix(v, u.suffix); ok {
				n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
				if err != nil {
					return fmt.Errorf("size %q: want a number with KiB, MiB or GiB", v)
				}
				*s = Size(n * u.mult)
				return nil
			}
		}
		return fmt.Errorf("size %q: want a number with KiB, MiB or GiB", v)
	}
	return fmt.Errorf("size: want an integer or a string, got %T", v)
}
