package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ModuleCacheDir returns the folder of the compilation cache root that
// holds the code engineName compiled from wasm, root/engineName/SHA-256
// of wasm in hex, creating what is missing with mode 0700. Entries are
// keyed by the module's hash, so two modules never share one.
//
// The cache holds machine code that the engine loads without checking
// it: whoever can write it can run code in raidakx outside the sandbox
// (SECURITY.md). So root and the folders under it must be owned by the
// user running raidakx and writable by nobody else; otherwise the error
// names the folder and the fix.
func ModuleCacheDir(root, engineName string, wasm []byte) (string, error) {
	if !filepath.IsAbs(root) {
		return "", fmt.Errorf("compilation cache %q: want an absolute path", root)
	}
	sum := sha256.Sum256(wasm)
	dir := filepath.Join(root, engineName, hex.EncodeToString(sum[:]))
	// root is checked before anything is made in it.
	if err := os.MkdirAll(root, 0o700); err != nil {
		return "", fmt.Errorf("compilation cache: %w", err)
	}
	if err := checkPrivateDir(root); err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("compilation cache: %w", err)
	}
	for _, d := range []string{filepath.Join(root, engineName), dir} {
		if err := checkPrivateDir(d); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// ErrUntrustedCache is wrapped by ModuleCacheDir's error for a folder
// that someone other than the user running raidakx could write.
var ErrUntrustedCache = errors.New("compiled code in it runs outside the sandbox, so only the user running raidakx may write it")

// checkPrivateDir fails unless dir is a folder owned by this process's
// user and writable by neither its group nor others.
func checkPrivateDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("compilation cache: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("compilation cache %s: not a folder", dir)
	}
	if uid, ok := fileOwner(fi); ok && uid != os.Getuid() {
		return fmt.Errorf("compilation cache %s is owned by uid %d, not by uid %d running raidakx: %w; "+
			"fix: chown -R %d %s, or set cache_dir to a folder of this user, or cache_dir = \"off\"",
			dir, uid, os.Getuid(), ErrUntrustedCache, os.Getuid(), dir)
	}
	if checksMode && fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("compilation cache %s is writable by group or others (%v): %w; "+
			"fix: chmod go-w %s, or set cache_dir to a folder only this user can write, or cache_dir = \"off\"",
			dir, fi.Mode().Perm(), ErrUntrustedCache, dir)
	}
	return nil
}
