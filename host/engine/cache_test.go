package engine

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestModuleCacheDirCreates: a missing cache folder is made with mode
// 0700, and each module gets a folder of its own, named by its SHA-256.
func TestModuleCacheDirCreates(t *testing.T) {
	root := filepath.Join(t.TempDir(), "home", ".cache", "raidakx")
	a, err := ModuleCacheDir(root, "wazero", []byte("module a"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := ModuleCacheDir(root, "wazero", []byte("module b"))
	if err != nil {
		t.Fatal(err)
	}
	// printf 'module a' | sha256sum
	if want := filepath.Join(root, "wazero", "fb503059c9f88e93bf9c14aca0ab8b6cccb9da910e6296da024bdd41987cec17"); a != want {
		t.Errorf("folder %s, want %s", a, want)
	}
	if a == b || filepath.Dir(a) != filepath.Join(root, "wazero") || filepath.Dir(b) != filepath.Dir(a) {
		t.Errorf("folders %s and %s: want two under %s", a, b, filepath.Join(root, "wazero"))
	}
	for _, d := range []string{filepath.Dir(root), root, filepath.Dir(a), a, b} {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: mode %v, want 0700", d, fi.Mode().Perm())
		}
	}
}

// TestModuleCacheDirRefuses: a cache folder that someone else could write
// is refused, with an error naming it and the fix, and nothing is made in
// it.
func TestModuleCacheDirRefuses(t *testing.T) {
	for _, mode := range []os.FileMode{0o777, 0o770, 0o722, 0o702} {
		root := t.TempDir()
		if err := os.Chmod(root, mode); err != nil {
			t.Fatal(err)
		}
		_, err := ModuleCacheDir(root, "wazero", []byte("module"))
		if !errors.Is(err, ErrUntrustedCache) || !strings.Contains(err.Error(), root) || !strings.Contains(err.Error(), "chmod go-w") {
			t.Errorf("mode %v: error %v, want ErrUntrustedCache naming %s and chmod", mode, err, root)
		}
		if entries, _ := os.ReadDir(root); len(entries) != 0 {
			t.Errorf("mode %v: %d entries made in a refused folder", mode, len(entries))
		}
	}
	// A folder under root, writable by others, is refused too.
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "wazero"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(root, "wazero"), 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := ModuleCacheDir(root, "wazero", []byte("module")); !errors.Is(err, ErrUntrustedCache) {
		t.Errorf("world-writable engine folder: error %v, want ErrUntrustedCache", err)
	}
}

// TestModuleCacheDirOwner: a folder owned by another user is refused.
// Only root can give a folder away, so this runs as root or not at all.
func TestModuleCacheDirOwner(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to chown a folder to another user")
	}
	root := t.TempDir()
	const other = 4242
	if err := os.Chown(root, other, other); err != nil {
		t.Fatal(err)
	}
	_, err := ModuleCacheDir(root, "wasmtime", []byte("module"))
	if !errors.Is(err, ErrUntrustedCache) || !strings.Contains(err.Error(), "uid 4242") || !strings.Contains(err.Error(), "chown") {
		t.Errorf("error %v, want ErrUntrustedCache naming uid 4242 and chown", err)
	}
}

func TestModuleCacheDirRelative(t *testing.T) {
	if _, err := ModuleCacheDir("cache", "wazero", nil); err == nil || !strings.Contains(err.Error(), "absolute") {
		t.Errorf("relative root: error %v", err)
	}
}
