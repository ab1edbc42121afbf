package vfs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// writeNew creates file name in fsys with data, synced if sync.
func writeNew(t *testing.T, fsys FS, name, data string, sync bool) {
	t.Helper()
	f, err := fsys.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	must(t, err)
	_, err = f.WriteAt([]byte(data), 0)
	must(t, err)
	if sync {
		must(t, f.Sync())
	}
	must(t, f.Close())
}

// writeOld overwrites the start of existing file name with data, synced if
// sync.
func writeOld(t *testing.T, fsys FS, name, data string, sync func(File) error) {
	t.Helper()
	f, err := fsys.OpenFile(name, os.O_RDWR, 0)
	must(t, err)
	_, err = f.WriteAt([]byte(data), 0)
	must(t, err)
	if sync != nil {
		must(t, sync(f))
	}
	must(t, f.Close())
}

func wantFile(t *testing.T, c *CrashFS, name, want string) {
	t.Helper()
	got, err := c.ReadFile(name)
	if err != nil || string(got) != want {
		t.Errorf("%s = %q, %v; want %q", name, got, err, want)
	}
}

func wantGone(t *testing.T, c *CrashFS, name string) {
	t.Helper()
	if _, err := c.Stat(name); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat(%s) = %v, want fs.ErrNotExist", name, err)
	}
}

func TestCrashDurability(t *testing.T) {
	tests := []struct {
		name string
		mode CrashMode
		run  func(t *testing.T, c *CrashFS) // checks the state before the crash where it matters
		want map[string]string              // files after the crash, with their content
		gone []string                       // names that must not exist after the crash
	}{
		{"unsynced write lost", CrashDropAll, func(t *testing.T, c *CrashFS) {
			writeOld(t, c, "f", "new", nil)
			wantFile(t, c, "f", "new")
		}, map[string]string{"f": "old"}, nil},
		{"synced write kept", CrashDropAll, func(t *testing.T, c *CrashFS) {
			writeOld(t, c, "f", "new", File.Sync)
		}, map[string]string{"f": "new"}, nil},
		{"datasynced write kept", CrashDropAll, func(t *testing.T, c *CrashFS) {
			writeOld(t, c, "f", "new", File.Datasync)
		}, map[string]string{"f": "new"}, nil},
		{"unsynced O_TRUNC lost", CrashDropAll, func(t *testing.T, c *CrashFS) {
			f, err := c.OpenFile("f", os.O_RDWR|os.O_TRUNC, 0)
			must(t, err)
			must(t, f.Close())
			wantFile(t, c, "f", "")
		}, map[string]string{"f": "old"}, nil},
		{"synced file without SyncDir gone", CrashDropAll, func(t *testing.T, c *CrashFS) {
			writeNew(t, c, "d/n", "x", true)
			wantFile(t, c, "d/n", "x")
		}, nil, []string{"d/n"}},
		{"synced file with SyncDir kept", CrashDropAll, func(t *testing.T, c *CrashFS) {
			writeNew(t, c, "d/n", "x", true)
			must(t, c.SyncDir("d"))
		}, map[string]string{"d/n": "x"}, nil},
		{"SyncDir of another folder does not help", CrashDropAll, func(t *testing.T, c *CrashFS) {
			writeNew(t, c, "d/n", "x", true)
			must(t, c.SyncDir("."))
		}, nil, []string{"d/n"}},
		{"file in SyncDir but unsynced is empty", CrashDropAll, func(t *testing.T, c *CrashFS) {
			writeNew(t, c, "d/n", "x", false)
			must(t, c.SyncDir("d"))
		}, map[string]string{"d/n": ""}, nil},
		{"mkdir without SyncDir gone", CrashDropAll, func(t *testing.T, c *CrashFS) {
			must(t, c.Mkdir("e", 0o755))
		}, nil, []string{"e"}},
		{"rename without SyncDir reverts", CrashDropAll, func(t *testing.T, c *CrashFS) {
			writeNew(t, c, "tmp", "new", true)
			must(t, c.Rename("tmp", "f"))
			wantFile(t, c, "f", "new")
		}, map[string]string{"f": "old"}, []string{"tmp"}},
		{"rename with SyncDir keeps new", CrashDropAll, func(t *testing.T, c *CrashFS) {
			writeNew(t, c, "tmp", "new", true)
			must(t, c.Rename("tmp", "f"))
			must(t, c.SyncDir("."))
		}, map[string]string{"f": "new"}, []string{"tmp"}},
		{"rename across folders needs both SyncDirs", CrashDropAll, func(t *testing.T, c *CrashFS) {
			must(t, c.Rename("f", "d/f"))
			must(t, c.SyncDir("d"))
		}, map[string]string{"f": "old", "d/f": "old"}, nil},
		{"remove without SyncDir comes back", CrashDropAll, func(t *testing.T, c *CrashFS) {
			must(t, c.Remove("f"))
			wantGone(t, c, "f")
		}, map[string]string{"f": "old"}, nil},
		{"remove with SyncDir stays", CrashDropAll, func(t *testing.T, c *CrashFS) {
			must(t, c.Remove("f"))
			must(t, c.SyncDir("."))
		}, nil, []string{"f"}},
		{"KeepSome loses folder changes without SyncDir", CrashKeepSome, func(t *testing.T, c *CrashFS) {
			writeNew(t, c, "d/n", "x", true)
			must(t, c.Rename("f", "g"))
		}, map[string]string{"f": "old"}, []string{"d/n", "g"}},
		{"KeepSome keeps synced writes", CrashKeepSome, func(t *testing.T, c *CrashFS) {
			writeOld(t, c, "f", "new", File.Sync)
		}, map[string]string{"f": "new"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCrashFS()
			must(t, c.MkdirAll("d"))
			must(t, c.WriteFile("f", []byte("old")))
			tt.run(t, c)
			c = c.Crash(tt.mode, rand.New(rand.NewPCG(1, 2)))
			for name, want := range tt.want {
				wantFile(t, c, name, want)
			}
			for _, name := range tt.gone {
				wantGone(t, c, name)
			}
		})
	}
}

func TestCrashHandles(t *testing.T) {
	c := NewCrashFS()
	must(t, c.WriteFile("f", []byte("durable")))
	f, err := c.OpenFile("f", os.O_RDWR, 0)
	must(t, err)
	_, err = f.WriteAt([]byte("LOST"), 0)
	must(t, err)
	d, err := c.OpenFile(".", os.O_RDONLY, 0)
	must(t, err)
	c = c.Crash(CrashDropAll, nil)

	calls := []struct {
		name string
		call func(File) error
	}{
		{"ReadAt", func(f File) error { _, err := f.ReadAt(make([]byte, 1), 0); return err }},
		{"WriteAt", func(f File) error { _, err := f.WriteAt([]byte("x"), 0); return err }},
		{"Truncate", func(f File) error { return f.Truncate(0) }},
		{"Sync", File.Sync},
		{"Datasync", File.Datasync},
		{"Stat", func(f File) error { _, err := f.Stat(); return err }},
	}
	for _, h := range []File{f, d} {
		for _, tt := range calls {
			if err := tt.call(h); !errors.Is(err, ErrCrashed) {
				t.Errorf("%s after crash = %v, want ErrCrashed", tt.name, err)
			}
		}
		must(t, h.Close())
	}
	wantFile(t, c, "f", "durable")
	g, err := c.OpenFile("f", os.O_RDWR, 0)
	must(t, err)
	defer g.Close()
	buf := make([]byte, 7)
	if _, err := g.ReadAt(buf, 0); err != nil || string(buf) != "durable" {
		t.Errorf("new handle reads %q, %v", buf, err)
	}
}

// TestCrashKeepSomeSectors checks that an unsynced write spanning 6 sectors
// (unaligned) survives whole, torn or not at all, each outcome happening,
// and that every sector always holds all old or all new bytes.
func TestCrashKeepSomeSectors(t *testing.T) {
	const size, off, n = 8 * 512, 300, 5 * 512
	old, p := make([]byte, size), make([]byte, n)
	for i := range old {
		old[i] = byte(i*7 + 1)
	}
	for i := range p {
		p[i] = byte(i*13 + 5)
	}
	all := slices.Clone(old)
	copy(all[off:], p)
	counts := map[string]int{}
	for seed := range uint64(300) {
		c := NewCrashFS()
		must(t, c.WriteFile("f", old))
		f, err := c.OpenFile("f", os.O_RDWR, 0)
		must(t, err)
		_, err = f.WriteAt(p, off)
		must(t, err)
		c = c.Crash(CrashKeepSome, rand.New(rand.NewPCG(seed, 0)))
		got, err := c.ReadFile("f")
		must(t, err)
		switch {
		case len(got) != size:
			t.Fatalf("seed %d: size %d, want %d", seed, len(got), size)
		case bytes.Equal(got, all):
			counts["whole"]++
		case bytes.Equal(got, old):
			counts["lost"]++
		default:
			counts["torn"]++
			for s := 0; s < size; s += 512 {
				if g := got[s : s+512]; !bytes.Equal(g, old[s:s+512]) && !bytes.Equal(g, all[s:s+512]) {
					t.Fatalf("seed %d: sector at %d is neither old nor new", seed, s)
				}
			}
		}
	}
	if counts["whole"] == 0 || counts["torn"] == 0 || counts["lost"] == 0 {
		t.Errorf("outcomes %v, want all of whole, torn and lost", counts)
	}
}

// dump describes the current and durable state of c's tree, to check that
// nothing changed.
func dump(c *CrashFS) string {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	var b strings.Builder
	var walk func(name string, n *inode)
	walk = func(name string, n *inode) {
		if !n.dir {
			fmt.Fprintf(&b, "%s %q durable %q pending %d\n", name, n.data, n.durable, len(n.pending))
			return
		}
		fmt.Fprintf(&b, "%s/ durable %v\n", name, slices.Sorted(maps.Keys(n.durEntries)))
		for _, e := range slices.Sorted(maps.Keys(n.entries)) {
			walk(name+"/"+e, n.entries[e])
		}
	}
	walk(".", c.s.root)
	return b.String()
}

func TestCrashInject(t *testing.T) {
	injected := errors.New("injected")
	tests := []struct {
		name string
		op   Op
		want string // name the hook gets, relative to the root
		do   func(s FS, f File) error
	}{
		{"OpenFile", OpOpen, "d/new", func(s FS, f File) error {
			_, err := s.OpenFile("new", os.O_RDWR|os.O_CREATE, 0o644)
			return err
		}},
		{"OpenFile O_TRUNC", OpOpen, "d/f", func(s FS, f File) error {
			_, err := s.OpenFile("f", os.O_RDWR|os.O_TRUNC, 0)
			return err
		}},
		{"ReadAt", OpRead, "d/f", func(s FS, f File) error { _, err := f.ReadAt(make([]byte, 1), 0); return err }},
		{"WriteAt", OpWrite, "d/f", func(s FS, f File) error { _, err := f.WriteAt([]byte("zz"), 0); return err }},
		{"Truncate", OpTruncate, "d/f", func(s FS, f File) error { return f.Truncate(1) }},
		{"Sync", OpSync, "d/f", func(s FS, f File) error { return f.Sync() }},
		{"Datasync", OpSync, "d/f", func(s FS, f File) error { return f.Datasync() }},
		{"Mkdir", OpMkdir, "d/e", func(s FS, f File) error { return s.Mkdir("e", 0o755) }},
		{"Rename", OpRename, "d/f", func(s FS, f File) error { return s.Rename("f", "g") }},
		{"Remove", OpRemove, "d/f", func(s FS, f File) error { return s.Remove("f") }},
		{"SyncDir", OpSyncDir, "d", func(s FS, f File) error { return s.SyncDir(".") }},
		{"Stat", OpStat, "d/f", func(s FS, f File) error { _, err := s.Stat("f"); return err }},
		{"File.Stat", OpStat, "d/f", func(s FS, f File) error { _, err := f.Stat(); return err }},
		{"ReadDirNames", OpReadDir, "d", func(s FS, f File) error { _, err := s.ReadDirNames("."); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCrashFS()
			must(t, c.MkdirAll("d"))
			must(t, c.WriteFile("d/f", []byte("content")))
			s := c.Sub("d")
			f, err := s.OpenFile("f", os.O_RDWR, 0)
			must(t, err)
			defer f.Close()
			_, err = f.WriteAt([]byte("unsynced"), 0) // so that Sync would change something
			must(t, err)
			must(t, s.Mkdir("u", 0o755)) // and SyncDir too
			before := dump(c)
			var names []string
			c.Inject(func(op Op, name string) error {
				if op != tt.op {
					return nil
				}
				names = append(names, name)
				return injected
			})
			err = tt.do(s, f)
			c.Inject(nil)
			if err != injected {
				t.Errorf("error %v, want the injected one", err)
			}
			if !slices.Equal(names, []string{tt.want}) {
				t.Errorf("hook got names %q, want [%s]", names, tt.want)
			}
			if after := dump(c); after != before {
				t.Errorf("state changed:\n%s\nwant\n%s", after, before)
			}
		})
	}
}

// TestCrashInjectBlocks checks that a hung operation does not stop others,
// and that it fails, having done nothing, once a crash happens while it
// hangs.
func TestCrashInjectBlocks(t *testing.T) {
	tests := []struct {
		name string
		op   Op
		do   func(c *CrashFS, f File) error
	}{
		{"File.Sync", OpSync, func(c *CrashFS, f File) error { return f.Sync() }},
		{"Mkdir", OpMkdir, func(c *CrashFS, f File) error { return c.Mkdir("e", 0o755) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCrashFS()
			must(t, c.WriteFile("f", []byte("old")))
			f, err := c.OpenFile("f", os.O_RDWR, 0)
			must(t, err)
			entered, release := make(chan struct{}), make(chan struct{})
			c.Inject(func(op Op, name string) error {
				if op == tt.op {
					close(entered)
					<-release
				}
				return nil
			})
			done := make(chan error)
			go func() { done <- tt.do(c, f) }()
			<-entered
			_, err = f.WriteAt([]byte("new"), 0)
			must(t, err)
			_, err = c.Stat("f")
			must(t, err)
			c = c.Crash(CrashDropAll, nil)
			close(release)
			if err := <-done; !errors.Is(err, ErrCrashed) {
				t.Errorf("operation hung over a crash = %v, want ErrCrashed", err)
			}
			wantFile(t, c, "f", "old")
			wantGone(t, c, "e")
		})
	}
}

func TestCrashSub(t *testing.T) {
	c := NewCrashFS()
	must(t, c.MkdirAll("a/b"))
	s := c.Sub("a")
	ss := s.(*CrashFS).Sub("b")
	writeNew(t, s, "b/f", "via sub", true)
	wantFile(t, c, "a/b/f", "via sub")
	if fi, err := ss.Stat("f"); err != nil || fi.Size() != 7 || fi.Name() != "f" {
		t.Errorf("Sub of Sub Stat = %v, %v", fi, err)
	}
	must(t, c.WriteFile("a/g", []byte("root")))
	names, err := s.ReadDirNames(".")
	if slices.Sort(names); err != nil || !slices.Equal(names, []string{"b", "g"}) {
		t.Errorf("ReadDirNames = %q, %v", names, err)
	}
	if got := ss.Path("f"); got != "crashfs:a/b/f" {
		t.Errorf("Path = %q", got)
	}
	for _, name := range []string{"../x", "/a", "b/../../x"} {
		if _, err := s.Stat(name); err == nil || errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Stat(%q) = %v, want an escape error", name, err)
		}
	}
	if _, err := c.Sub("..").Stat("."); err == nil {
		t.Error("Sub(\"..\") works")
	}
	if _, err := c.Sub("missing").Stat("."); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Sub of a missing folder: %v", err)
	}
	booted := c.Crash(CrashDropAll, nil) // b/f was never SyncDir'd
	if _, err := ss.Stat("f"); !errors.Is(err, ErrCrashed) {
		t.Errorf("Sub of the crashed FS: Stat = %v, want ErrCrashed", err)
	}
	if _, err := booted.Sub("a/b").Stat("f"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after crash Sub Stat = %v, want fs.ErrNotExist", err)
	}
}

// implementations returns a Dir and a CrashFS holding folder d, file d/g
// and file f ("hello"), to check that CrashFS behaves like the OS.
func implementations(t *testing.T) []struct {
	name string
	fs   FS
} {
	dir, err := OpenDir(t.TempDir())
	must(t, err)
	t.Cleanup(func() { dir.Close() })
	impls := []struct {
		name string
		fs   FS
	}{{"Dir", dir}, {"CrashFS", NewCrashFS()}}
	for _, impl := range impls {
		must(t, impl.fs.Mkdir("d", 0o750))
		writeNew(t, impl.fs, "d/g", "x", false)
		writeNew(t, impl.fs, "f", "hello", false)
	}
	return impls
}

func TestCrashErrorsLikeOS(t *testing.T) {
	onHandle := func(name string, flag int, op func(File) error) func(FS) error {
		return func(fsys FS) error {
			f, err := fsys.OpenFile(name, flag, 0)
			if err != nil {
				return fmt.Errorf("open: %w", err)
			}
			defer f.Close()
			return op(f)
		}
	}
	open := func(name string, flag int) func(FS) error {
		return func(fsys FS) error {
			f, err := fsys.OpenFile(name, flag, 0o644)
			if err == nil {
				f.Close()
			}
			return err
		}
	}
	tests := []struct {
		name string
		do   func(FS) error
		want error // nil: any error
	}{
		{"open missing", open("missing", os.O_RDONLY), fs.ErrNotExist},
		{"create in missing folder", open("missing/x", os.O_RDWR|os.O_CREATE), fs.ErrNotExist},
		{"create under a file", open("f/x", os.O_RDWR|os.O_CREATE), nil},
		{"O_EXCL on existing", open("f", os.O_RDWR|os.O_CREATE|os.O_EXCL), fs.ErrExist},
		{"open folder for writing", open("d", os.O_RDWR), nil},
		{"open escaping", open("../x", os.O_RDONLY), nil},
		{"mkdir existing folder", func(f FS) error { return f.Mkdir("d", 0o755) }, fs.ErrExist},
		{"mkdir over file", func(f FS) error { return f.Mkdir("f", 0o755) }, fs.ErrExist},
		{"mkdir in missing folder", func(f FS) error { return f.Mkdir("missing/x", 0o755) }, fs.ErrNotExist},
		{"stat missing", func(f FS) error { _, err := f.Stat("d/missing"); return err }, fs.ErrNotExist},
		{"remove missing", func(f FS) error { return f.Remove("missing") }, fs.ErrNotExist},
		{"remove non-empty folder", func(f FS) error { return f.Remove("d") }, nil},
		{"rename missing", func(f FS) error { return f.Rename("missing", "x") }, fs.ErrNotExist},
		{"rename into missing folder", func(f FS) error { return f.Rename("f", "missing/f") }, fs.ErrNotExist},
		{"rename onto folder", func(f FS) error { return f.Rename("f", "d") }, nil},
		{"readdir missing", func(f FS) error { _, err := f.ReadDirNames("missing"); return err }, fs.ErrNotExist},
		{"write read-only", onHandle("f", os.O_RDONLY, func(f File) error { _, err := f.WriteAt([]byte("x"), 0); return err }), nil},
		{"truncate read-only", onHandle("f", os.O_RDONLY, func(f File) error { return f.Truncate(0) }), nil},
		{"read folder", onHandle("d", os.O_RDONLY, func(f File) error { _, err := f.ReadAt(make([]byte, 1), 0); return err }), nil},
		{"close twice", onHandle("f", os.O_RDONLY, func(f File) error { f.Close(); return f.Close() }), fs.ErrClosed},
	}
	impls := implementations(t)
	for _, tt := range tests {
		for _, impl := range impls {
			err := tt.do(impl.fs)
			if err == nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("%s: %s: %v, want %v", impl.name, tt.name, err, tt.want)
			}
		}
	}
}

func TestCrashFileLikeOS(t *testing.T) {
	for _, impl := range implementations(t) {
		t.Run(impl.name, func(t *testing.T) {
			fsys := impl.fs
			f, err := fsys.OpenFile("h", os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o640)
			must(t, err)
			defer f.Close()
			_, err = f.WriteAt([]byte("hello"), 0)
			must(t, err)
			_, err = f.WriteAt([]byte("!"), 8) // past the end: zeros between
			must(t, err)
			buf := make([]byte, 16)
			if n, err := f.ReadAt(buf, 0); n != 9 || err != io.EOF || string(buf[:n]) != "hello\x00\x00\x00!" {
				t.Errorf("ReadAt = %d %q, %v; want 9, io.EOF", n, buf[:n], err)
			}
			if n, err := f.ReadAt(buf, 9); n != 0 || err != io.EOF {
				t.Errorf("ReadAt at EOF = %d, %v", n, err)
			}
			if fi, err := f.Stat(); err != nil || fi.Name() != "h" || fi.Size() != 9 || fi.Mode() != 0o640 || fi.IsDir() {
				t.Errorf("Stat = %v, %v", fi, err)
			}
			if fi, err := fsys.Stat("d"); err != nil || fi.Name() != "d" || fi.Mode() != fs.ModeDir|0o750 || !fi.IsDir() {
				t.Errorf("Stat(d) = %v, %v", fi, err)
			}
			must(t, f.Truncate(2))
			must(t, f.Truncate(4)) // regrows with zeros, not old bytes
			if n, _ := f.ReadAt(buf, 0); string(buf[:n]) != "he\x00\x00" {
				t.Errorf("after Truncate %q", buf[:n])
			}
			must(t, fsys.Rename("h", "d/h2"))
			must(t, fsys.Remove("d/h2"))
			_, err = f.WriteAt([]byte("X"), 0) // a handle keeps its file
			must(t, err)
			if n, _ := f.ReadAt(buf, 0); string(buf[:n]) != "Xe\x00\x00" {
				t.Errorf("after Remove %q", buf[:n])
			}
			g, err := fsys.OpenFile("f", os.O_RDWR|os.O_TRUNC, 0)
			must(t, err)
			defer g.Close()
			if fi, err := fsys.Stat("f"); err != nil || fi.Size() != 0 {
				t.Errorf("after O_TRUNC Stat = %v, %v", fi, err)
			}
			names, err := fsys.ReadDirNames(".")
			if slices.Sort(names); err != nil || !slices.Equal(names, []string{"d", "f"}) {
				t.Errorf("ReadDirNames = %q, %v", names, err)
			}
		})
	}
}

// TestCrashConcurrent is for the race detector: operations, handles and
// crashes at once fail only in the ways they may.
func TestCrashConcurrent(t *testing.T) {
	c := NewCrashFS()
	must(t, c.MkdirAll("d"))
	var cur atomic.Pointer[CrashFS] // the machine as now booted
	cur.Store(c)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				c := cur.Load()
				name := fmt.Sprintf("d/%d-%d", g, i%5)
				f, err := c.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
				if err != nil {
					if !errors.Is(err, ErrCrashed) && !errors.Is(err, fs.ErrNotExist) {
						t.Error(err)
					}
					continue
				}
				_, err = f.WriteAt([]byte("data"), int64(i))
				err = errors.Join(err, f.Sync(), c.SyncDir("d"), c.Rename(name, name+"r"))
				if err != nil && !errors.Is(err, ErrCrashed) && !errors.Is(err, fs.ErrNotExist) {
					t.Error(err)
				}
				f.Close()
			}
		})
	}
	for i := range 20 {
		c = c.Crash(CrashKeepSome, rand.New(rand.NewPCG(uint64(i), 0)))
		must(t, c.MkdirAll("d"))
		cur.Store(c)
	}
	wg.Wait()
}
