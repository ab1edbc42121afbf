// Package imports implements the host side of the module's imports
// (abi/ABI.md) independently of any WebAssembly runtime: an Env is the set
// of capabilities one module instance holds. Engines adapt its methods to
// their runtime's calling convention after checking the guest's pointers;
// the native engine calls them directly.
package imports

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"strings"
	"syscall"
	"time"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/storage"
)

// Backend is what the imports of every instance share.
type Backend struct {
	Records storage.Records
	Files   storage.Files
	Random  io.Reader        // random import; crypto/rand.Reader in production
	Clock   func() time.Time // time_now import; time.Now in production
	Logger  *slog.Logger     // log import; slog.Default() when nil
	// Commit, when set, makes every record write so far durable; the pool
	// calls it, with a deadline, after a request that wrote records or
	// read records not yet durable (Env.TakeUncommitted), before
	// answering. Concurrent calls share one sync (group commit).
	Commit func(ctx context.Context) error
}

// Fault is the panic value of an import misused in a way only a broken
// module can: a pointer outside memory, a lock protocol violation. The
// engine turns it into a trap of the calling instance.
type Fault struct{ Reason string }

func (f *Fault) Error() string { return "raidakx: module fault: " + f.Reason }

// Faultf panics with a Fault.
func Faultf(format string, args ...any) {
	panic(&Fault{Reason: fmt.Sprintf(format, args...)})
}

// Env is the imports of one module instance. It tracks the page lock the
// instance holds so that the lock protocol is enforced and a lock is never
// lost when the instance dies. An Env serves one call at a time.
type Env struct {
	b      *Backend
	logger *slog.Logger
	held   storage.PageKey
	locked bool
	// The call wrote a record, or read one not yet durable, since the
	// last TakeUncommitted: its answer must wait for a Commit.
	uncommitted bool
	// aes_ctr's counter and keystream blocks, kept here so that a call
	// allocates nothing for them.
	ctr, ks [abi.AESBlockSize]byte
}

// NewEnv returns the imports of one instance over b.
func NewEnv(b *Backend) *Env {
	l := b.Logger
	if l == nil {
		l = slog.Default()
	}
	return &Env{b: b, logger: l}
}

// Random implements the random import.
func (e *Env) Random(dst []byte) abi.Errno {
	if _, err := io.ReadFull(e.b.Random, dst); err != nil {
		return abi.ErrNoRandom
	}
	return abi.OK
}

// The den arguments are the import's i32 as the module passed it: a value
// outside int8 is out of range like any den outside -8..6, never truncated
// to a valid one, and the lock checks (traps) come first as ABI.md says.

// PageLock implements page_lock. An instance holds at most one page lock:
// taking a second one, which could deadlock against another instance, is a
// fault.
func (e *Env) PageLock(den int32, page uint32) abi.Errno {
	if e.locked {
		Faultf("page_lock(%d, %d) while holding (%d, %d)", den, page, e.held.Den, e.held.Page)
	}
	if den < math.MinInt8 || den > math.MaxInt8 {
		return abi.ErrNoRecord
	}
	if err := e.b.Records.Lock(int8(den), page); err != nil {
		return e.storageErrno("page_lock", err)
	}
	e.held, e.locked = storage.PageKey{Den: int8(den), Page: page}, true
	return abi.OK
}

// holds reports whether the instance holds page (den, page).
func (e *Env) holds(den int32, page uint32) bool {
	return e.locked && int32(e.held.Den) == den && e.held.Page == page
}

// PageUnlock implements page_unlock. Unlocking a page not held is a fault.
func (e *Env) PageUnlock(den int32, page uint32) abi.Errno {
	if !e.holds(den, page) {
		Faultf("page_unlock(%d, %d) of a page not held", den, page)
	}
	e.Release()
	return abi.OK
}

// RecordRead implements record_read. Holding a lock, the instance may
// read only a record of that page. Holding none, the read takes the
// record's page lock for itself (ABI version 2): one import instead of
// page_lock, record_read and page_unlock, with the same isolation.
func (e *Env) RecordRead(den int32, sn uint32, rec *[abi.RecordSize]byte) abi.Errno {
	if !e.locked {
		if den < math.MinInt8 || den > math.MaxInt8 || !abi.RecordExists(int8(den), sn) {
			return abi.ErrNoRecord
		}
		page := abi.Page(sn)
		if err := e.b.Records.Lock(int8(den), page); err != nil {
			return e.storageErrno("record_read", err)
		}
		defer e.b.Records.Unlock(int8(den), page)
	} else {
		e.checkHeld("record_read", den, sn)
	}
	pending, err := e.b.Records.Read(int8(den), sn, rec)
	if err != nil {
		return e.storageErrno("record_read", err)
	}
	e.uncommitted = e.uncommitted || pending
	return abi.OK
}

// RecordWrite implements record_write.
func (e *Env) RecordWrite(den int32, sn uint32, rec *[abi.RecordSize]byte) abi.Errno {
	e.checkHeld("record_write", den, sn)
	if err := e.b.Records.Write(int8(den), sn, rec); err != nil {
		return e.storageErrno("record_write", err)
	}
	e.uncommitted = true
	return abi.OK
}

// checkHeld faults unless the instance holds the page of (den, sn); after
// it, den is known to fit int8.
func (e *Env) checkHeld(what string, den int32, sn uint32) {
	if !e.holds(den, abi.Page(sn)) {
		Faultf("%s(%d, %d) without its page lock", what, den, sn)
	}
}

// FileRead implements file_read.
func (e *Env) FileRead(dir abi.Dir, name, dst []byte) (int, abi.Errno) {
	checkDir(dir)
	if !abi.ValidFileName(name) {
		return 0, abi.ErrBadName
	}
	n, err := e.b.Files.ReadFile(dir, string(name), dst)
	if err != nil {
		return 0, e.storageErrno("file_read", err)
	}
	return n, abi.OK
}

// FileWrite implements file_write. Only Keys/ is writable.
func (e *Env) FileWrite(dir abi.Dir, name, data []byte) abi.Errno {
	checkDir(dir)
	switch {
	case dir != abi.DirKeys:
		return abi.ErrDenied
	case !abi.ValidFileName(name):
		return abi.ErrBadName
	case len(data) > abi.MaxFileWrite:
		return abi.ErrTooLarge
	}
	if err := e.b.Files.WriteFile(dir, string(name), data); err != nil {
		return e.storageErrno("file_write", err)
	}
	return abi.OK
}

func checkDir(dir abi.Dir) {
	if dir != abi.DirCoins && dir != abi.DirKeys {
		Faultf("unknown folder %d", dir)
	}
}

// TimeNow implements time_now.
func (e *Env) TimeNow() int64 { return e.b.Clock().UnixNano() }

// Log implements log.
func (e *Env) Log(level abi.LogLevel, msg []byte) {
	l := slog.Level(max(min(level, abi.LogError), abi.LogDebug) * 4)
	e.logger.Log(context.Background(), l, "module: "+strings.ToValidUTF8(string(msg[:min(len(msg), abi.MaxLogMessage)]), "\uFFFD"))
}

// Locked reports whether the instance holds a page lock.
func (e *Env) Locked() bool { return e.locked }

// Release gives up the page lock the instance holds, if any. Engines call
// it when an instance traps or returns holding a lock.
func (e *Env) Release() {
	if e.locked {
		e.locked = false
		e.b.Records.Unlock(e.held.Den, e.held.Page)
	}
}

// TakeUncommitted reports whether the instance wrote a record, or read a
// record whose value is not durable yet, since the last call, and forgets
// it. A host that sees true calls Backend.Commit before it answers the
// request: no answer depends on a change a crash could still undo.
func (e *Env) TakeUncommitted() bool {
	u := e.uncommitted
	e.uncommitted = false
	return u
}

// storageErrno maps a storage error to an errno, logging the unexpected
// ones.
func (e *Env) storageErrno(what string, err error) abi.Errno {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return abi.ErrNotFound
	case errors.Is(err, storage.ErrNoRecord):
		return abi.ErrNoRecord
	}
	e.logger.Error("import failed", "import", what, "err", err)
	if errors.Is(err, syscall.ENOSPC) {
		return abi.ErrNoSpace
	}
	return abi.ErrIO
}
