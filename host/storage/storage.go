// Package storage holds the node's state as the host imports see it: the
// coin database of 17-byte records in pages, and the files of coins/ and
// Keys/. MemRecords and MemFiles keep it in memory (test vectors, tests);
// PageStore and RootFiles keep it in a RAIDA data root, in the node's own
// layout.
//
// What callers may rely on, each enforced by construction (PageStore's
// doc says how):
//   - one lock per page: Lock excludes every other holder of the page;
//   - nothing acknowledged is lost: once Commit returned nil, every record
//     written before it survives a crash or a power loss, and so does a
//     Keys/ file once WriteFile returned nil;
//   - read committed: Read reports a value that is not durable yet;
//   - nothing torn: a page file is always 17,408 bytes of whole records,
//     a Keys/ file the old or the new one;
//   - every wait is bounded (Lock, Commit) and every limit has a default.
package storage

import (
	"context"
	"errors"

	"github.com/raidakx/raidakx/abi"
)

// Record is one coin database record: AN (16 bytes) then MFS (1).
type Record = [abi.RecordSize]byte

// Records is the coin database. Lock and Unlock bracket every Read and
// Write of a page's records; the caller (imports.Env) enforces that, so
// implementations only provide the mutual exclusion.
type Records interface {
	// Lock waits for and takes the lock of (den, page).
	Lock(den int8, page uint32) error
	// Unlock releases a lock taken by Lock.
	Unlock(den int8, page uint32)
	// Read copies record (den, sn) into rec. pending reports that the
	// value is not durable yet (a write whose commit round has not
	// synced): a caller must Commit before it answers anything that
	// depends on it (read committed).
	Read(den int8, sn uint32, rec *Record) (pending bool, err error)
	// Write replaces record (den, sn).
	Write(den int8, sn uint32, rec *Record) error
}

// Committer makes durable every record write made before the call.
// Concurrent calls share one sync (group commit). ctx bounds the wait: when
// it ends first, Commit returns its error and the writes become durable
// (or fail) later, unacknowledged.
type Committer interface {
	Commit(ctx context.Context) error
}

// Files is the part of the data root the module may touch.
type Files interface {
	// ReadFile reads at most len(dst) bytes of dir/name. A missing file is
	// an error that wraps fs.ErrNotExist.
	ReadFile(dir abi.Dir, name string, dst []byte) (int, error)
	// WriteFile replaces dir/name with data as a whole.
	WriteFile(dir abi.Dir, name string, data []byte) error
}

// ErrNoRecord is returned for a den or sn outside the database.
var ErrNoRecord = errors.New("storage: no such record")

// PageKey names one page of the database.
type PageKey struct {
	Den  int8
	Page uint32
}

// RecordKey names one record.
type RecordKey struct {
	Den int8
	SN  uint32
}

// checkPage returns ErrNoRecord unless (den, page) is a page of the
// database.
func checkPage(den int8, page uint32) error {
	if page >= abi.SNLimit/abi.RecordsPerPage || !abi.RecordExists(den, page*abi.RecordsPerPage) {
		return ErrNoRecord
	}
	return nil
}
