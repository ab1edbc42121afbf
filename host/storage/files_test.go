package storage

import (
	"bytes"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/storage/vfs"
)

// newDataRoot returns a data root with coins/ and Keys/ inside a parent
// folder, so that tests can place files outside the data root.
func newDataRoot(t *testing.T) (parent, root string) {
	t.Helper()
	parent = t.TempDir()
	root = filepath.Join(parent, "root")
	for _, d := range []string{"coins", "Keys"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o750); err != nil {
			t.Fatal(err)
		}
	}
	return parent, root
}

func openFiles(t *testing.T, root string) *RootFiles {
	t.Helper()
	rf, err := OpenRootFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rf.Close() })
	return rf
}

func TestOpenRootFilesNeedsBothFolders(t *testing.T) {
	for _, missing := range []string{"coins", "Keys"} {
		t.Run(missing, func(t *testing.T) {
			_, root := newDataRoot(t)
			if err := os.Remove(filepath.Join(root, missing)); err != nil {
				t.Fatal(err)
			}
			_, err := OpenRootFiles(root)
			if err == nil || !strings.Contains(err.Error(), missing+"/") {
				t.Fatalf("OpenRootFiles = %v, want an error naming %s/", err, missing)
			}
		})
	}
}

func TestReadFile(t *testing.T) {
	_, root := newDataRoot(t)
	coin := make([]byte, 440)
	for i := range coin {
		coin[i] = byte(i)
	}
	if err := os.WriteFile(filepath.Join(root, "coins", "01.1234.bin"), coin, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "Keys", "0123456789abcdef0123456789abcdef"), []byte("key"), 0o640); err != nil {
		t.Fatal(err)
	}
	rf := openFiles(t, root)
	for _, c := range []struct {
		dir   abi.Dir
		name  string
		bufsz int
		want  []byte
	}{
		{abi.DirCoins, "01.1234.bin", 440, coin},
		{abi.DirCoins, "01.1234.bin", 441, coin}, // read N+1 to learn the size is N
		{abi.DirCoins, "01.1234.bin", 10, coin[:10]},
		{abi.DirCoins, "01.1234.bin", 0, nil},
		{abi.DirKeys, "0123456789abcdef0123456789abcdef", 100, []byte("key")},
	} {
		buf := make([]byte, c.bufsz)
		n, err := rf.ReadFile(c.dir, c.name, buf)
		if err != nil || !bytes.Equal(buf[:n], c.want) {
			t.Errorf("ReadFile(%s, %s, %d) = %d, %v", c.dir, c.name, c.bufsz, n, err)
		}
	}
	for _, dir := range []abi.Dir{abi.DirCoins, abi.DirKeys} {
		if _, err := rf.ReadFile(dir, "missing", make([]byte, 8)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("ReadFile(%s, missing) = %v, want fs.ErrNotExist", dir, err)
		}
	}
	if err := os.Mkdir(filepath.Join(root, "Keys", "adir"), 0o750); err != nil {
		t.Fatal(err)
	}
	if _, err := rf.ReadFile(abi.DirKeys, "adir", make([]byte, 8)); err == nil {
		t.Error("read a folder")
	}
	if _, err := rf.ReadFile(abi.Dir(2), "x", nil); err == nil {
		t.Error("read from an unknown folder")
	}
}

func keysEntries(t *testing.T, root string) []string {
	t.Helper()
	es, err := os.ReadDir(filepath.Join(root, "Keys"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteFileReplacesAtomically(t *testing.T) {
	_, root := newDataRoot(t)
	rf := openFiles(t, root)
	const name = "00112233445566778899aabbccddeeff"
	long := bytes.Repeat([]byte("L"), 4096)
	short := []byte("short")
	for _, data := range [][]byte{long, short} {
		if err := rf.WriteFile(abi.DirKeys, name, data); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 5000)
		n, err := rf.ReadFile(abi.DirKeys, name, buf)
		if err != nil || !bytes.Equal(buf[:n], data) {
			t.Fatalf("read back %d bytes, %v", n, err)
		}
		onDisk, err := os.ReadFile(filepath.Join(root, "Keys", name))
		if err != nil || !bytes.Equal(onDisk, data) {
			t.Fatalf("file holds %d bytes (stale tail?), %v", len(onDisk), err)
		}
		if m := mode(t, filepath.Join(root, "Keys", name)); m != 0o640 {
			t.Errorf("mode %o, want 640", m)
		}
	}
	if err := rf.WriteFile(abi.DirKeys, "empty", nil); err != nil {
		t.Fatal(err)
	}
	if got := keysEntries(t, root); len(got) != 2 {
		t.Errorf("Keys holds %v: a temporary file was left", got)
	}
}

func TestWriteFileCoinsIsReadOnly(t *testing.T) {
	_, root := newDataRoot(t)
	rf := openFiles(t, root)
	if err := rf.WriteFile(abi.DirCoins, "01.1.bin", []byte("x")); !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("WriteFile(coins) = %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "coins", "01.1.bin")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("a coin file was written")
	}
}

// Readers never see a mix of two versions of a file.
func TestWriteFileConcurrentReaders(t *testing.T) {
	_, root := newDataRoot(t)
	rf := openFiles(t, root)
	a, b := bytes.Repeat([]byte("a"), 4000), bytes.Repeat([]byte("b"), 10)
	if err := rf.WriteFile(abi.DirKeys, "k", a); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			buf := make([]byte, 5000)
			for {
				select {
				case <-done:
					return
				default:
				}
				n, err := rf.ReadFile(abi.DirKeys, "k", buf)
				if err != nil {
					t.Error(err)
					return
				}
				if got := buf[:n]; !bytes.Equal(got, a) && !bytes.Equal(got, b) {
					t.Errorf("read a mixed file of %d bytes", n)
					return
				}
			}
		})
	}
	for i := range 100 {
		data := a
		if i%2 == 0 {
			data = b
		}
		if err := rf.WriteFile(abi.DirKeys, "k", data); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
}

// A full disk is reported as ENOSPC and leaves the old file and no
// temporary file.
func TestWriteFileNoSpace(t *testing.T) {
	_, root := newDataRoot(t)
	rf := openFiles(t, root)
	old := []byte("the old key")
	if err := rf.WriteFile(abi.DirKeys, "k", old); err != nil {
		t.Fatal(err)
	}
	rf.write = func(f vfs.File, data []byte) (int, error) {
		n, _ := f.WriteAt(data[:len(data)/2], 0)
		return n, &fs.PathError{Op: "write", Path: "tmp", Err: syscall.ENOSPC}
	}
	err := rf.WriteFile(abi.DirKeys, "k", bytes.Repeat([]byte("n"), 4096))
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("WriteFile = %v, want ENOSPC", err)
	}
	if got, _ := os.ReadFile(filepath.Join(root, "Keys", "k")); !bytes.Equal(got, old) {
		t.Fatalf("old file damaged: %q", got)
	}
	if got := keysEntries(t, root); len(got) != 1 {
		t.Errorf("Keys holds %v", got)
	}
}

func TestBadNamesRejected(t *testing.T) {
	parent, root := newDataRoot(t)
	rf := openFiles(t, root)
	for _, name := range []string{"", ".", "..", "../x", "../../x", "/etc/passwd", ".hidden", "a/b", "x\x00y", `..\x`} {
		if _, err := rf.ReadFile(abi.DirKeys, name, make([]byte, 8)); err == nil {
			t.Errorf("ReadFile(%q) succeeded", name)
		}
		if err := rf.WriteFile(abi.DirKeys, name, []byte("x")); err == nil {
			t.Errorf("WriteFile(%q) succeeded", name)
		}
	}
	for _, p := range []string{filepath.Join(parent, "x"), filepath.Join(root, "x")} {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s was created", p)
		}
	}
}

// Symbolic links inside coins/ and Keys/ cannot lead out of them; the
// os.Root refuses them even when the name check is bypassed.
func TestNoEscapeThroughSymlinks(t *testing.T) {
	parent, root := newDataRoot(t)
	secret := filepath.Join(parent, "secret")
	if err := os.WriteFile(secret, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	links := map[string]string{
		"abs": secret,                                   // absolute
		"rel": filepath.Join("..", "..", "secret"),      // relative, out of the folder
		"top": filepath.Join("..", "coins", "01.1.bin"), // into a sibling folder
	}
	for _, dir := range []string{"coins", "Keys"} {
		for name, target := range links {
			if err := os.Symlink(target, filepath.Join(root, dir, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.WriteFile(filepath.Join(root, "coins", "01.1.bin"), []byte("coin"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "Keys", "real"), []byte("real"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real", filepath.Join(root, "Keys", "inside")); err != nil {
		t.Fatal(err)
	}
	rf := openFiles(t, root)

	for _, dir := range []abi.Dir{abi.DirCoins, abi.DirKeys} {
		for name := range links {
			buf := make([]byte, 64)
			if n, err := rf.ReadFile(dir, name, buf); err == nil {
				t.Errorf("ReadFile(%s, %s) followed the link out: %q", dir, name, buf[:n])
			}
		}
	}
	// A link that stays inside the folder is followed.
	buf := make([]byte, 64)
	if n, err := rf.ReadFile(abi.DirKeys, "inside", buf); err != nil || string(buf[:n]) != "real" {
		t.Errorf("ReadFile(Keys, inside) = %q, %v", buf[:n], err)
	}
	// Writing replaces the link itself; its target outside is untouched.
	for name := range links {
		if err := rf.WriteFile(abi.DirKeys, name, []byte("new")); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Lstat(filepath.Join(root, "Keys", name))
		if err != nil || !fi.Mode().IsRegular() {
			t.Errorf("Keys/%s after WriteFile: %v, %v", name, fi, err)
		}
	}
	if got, _ := os.ReadFile(secret); string(got) != "secret" {
		t.Errorf("the file outside was changed: %q", got)
	}
	if got, _ := os.ReadFile(filepath.Join(root, "coins", "01.1.bin")); string(got) != "coin" {
		t.Errorf("coins/ was changed through Keys/: %q", got)
	}
	// The os.Root itself, without the name check.
	for _, name := range []string{"../escaped", "/tmp/escaped", "abs/x"} {
		if err := writeSynced(rf.keys, name, os.O_EXCL, []byte("x"), nil); err == nil {
			t.Errorf("os.Root let %q be created", name)
		}
		if f, err := rf.keys.OpenFile(name, os.O_RDONLY, 0); err == nil {
			f.Close()
			t.Errorf("os.Root opened %q", name)
		}
	}
	if _, err := os.Lstat(filepath.Join(root, "escaped")); !errors.Is(err, fs.ErrNotExist) {
		t.Error("a file escaped Keys/")
	}
}

func TestStaleKeysTempsRemoved(t *testing.T) {
	_, root := newDataRoot(t)
	for _, n := range []string{keysTempPrefix + "0123456789abcdef", "keep"} {
		if err := os.WriteFile(filepath.Join(root, "Keys", n), []byte("x"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	openFiles(t, root)
	if got := keysEntries(t, root); len(got) != 1 || got[0] != "keep" {
		t.Errorf("Keys holds %v", got)
	}
}

// coins/ files are read through a cache: a replaced file is seen once its
// entry is older than the TTL, a missing file is never cached, and a file
// too large for the cache is read each time.
func TestCoinsCache(t *testing.T) {
	_, root := newDataRoot(t)
	rf := openFiles(t, root)
	rf.ttl = 50 * time.Millisecond
	coin := func(b byte) []byte { return bytes.Repeat([]byte{b}, 440) }
	write := func(name string, data []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(root, "coins", name), data, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	read := func(name string, size int) []byte {
		t.Helper()
		buf := make([]byte, size)
		n, err := rf.ReadFile(abi.DirCoins, name, buf)
		if err != nil {
			t.Fatalf("ReadFile(%s): %v", name, err)
		}
		return buf[:n]
	}
	if _, err := rf.ReadFile(abi.DirCoins, "01.5.bin", make([]byte, 440)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing coin: %v", err)
	}
	write("01.5.bin", coin(1))
	if got := read("01.5.bin", 441); !bytes.Equal(got, coin(1)) {
		t.Fatal("a coin file created after a miss is not seen at once")
	}
	write("01.5.bin", coin(2))
	if got := read("01.5.bin", 440); !bytes.Equal(got, coin(1)) {
		t.Fatal("the cache did not serve a read within its TTL")
	}
	if got := read("01.5.bin", 10); !bytes.Equal(got, coin(1)[:10]) {
		t.Fatal("a short read from the cache")
	}
	time.Sleep(60 * time.Millisecond)
	if got := read("01.5.bin", 440); !bytes.Equal(got, coin(2)) {
		t.Fatal("a replaced coin file was not seen after the TTL")
	}
	big := bytes.Repeat([]byte{3}, coinsCacheMaxFile+1)
	write("big", big)
	read("big", len(big))
	write("big", bytes.Repeat([]byte{4}, len(big)))
	if got := read("big", len(big)); got[0] != 4 {
		t.Fatal("a file too large for the cache was cached")
	}
}

// TestKeysPowerLoss writes one key file again and again and cuts the power
// at a random moment: after the reboot the file is the last version whose
// WriteFile returned nil, or the one being written then, whole; no
// temporary file is left once the folder is opened again.
func TestKeysPowerLoss(t *testing.T) {
	for trial := range 20 {
		mode := []vfs.CrashMode{vfs.CrashDropAll, vfs.CrashKeepSome}[trial%2]
		rng := rand.New(rand.NewPCG(uint64(trial), 9))
		c := vfs.NewCrashFS()
		for _, d := range []string{"coins", "Keys"} {
			if err := c.MkdirAll(d); err != nil {
				t.Fatal(err)
			}
		}
		rf, err := openRootFiles(c.Sub("coins"), c.Sub("Keys"))
		if err != nil {
			t.Fatal(err)
		}
		version := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 100+i%900) }
		var acked, last atomic.Int64 // versions 1..: acknowledged, attempted
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 1; ; i++ {
				last.Store(int64(i))
				if rf.WriteFile(abi.DirKeys, "0123456789abcdef0123456789abcdef", version(i)) != nil {
					return
				}
				acked.Store(int64(i))
			}
		}()
		time.Sleep(time.Duration(1+rng.IntN(10)) * time.Millisecond)
		c = c.Crash(mode, rng)
		<-done
		rf, err = openRootFiles(c.Sub("coins"), c.Sub("Keys"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.ReadFile("Keys/0123456789abcdef0123456789abcdef")
		a, l := int(acked.Load()), int(last.Load())
		switch {
		case a == 0 && errors.Is(err, fs.ErrNotExist):
		case err != nil:
			t.Fatalf("trial %d: key file after the power loss: %v (acknowledged version %d)", trial, err, a)
		case !bytes.Equal(got, version(a)) && !bytes.Equal(got, version(l)):
			t.Fatalf("trial %d: key file holds %d bytes of %x, want version %d or %d", trial, len(got), got[:1], a, l)
		}
		if names, _ := c.ReadDirNames("Keys"); len(names) > 1 {
			t.Fatalf("trial %d: Keys holds %v after reopening", trial, names)
		}
	}
}
