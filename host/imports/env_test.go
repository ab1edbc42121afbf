package imports

import (
	"errors"
	"testing"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/storage"
)

// lockRecorder is a storage.Records that records Lock and Unlock calls.
type lockRecorder struct {
	*storage.MemRecords
	calls []string
}

func (l *lockRecorder) Lock(den int8, page uint32) error {
	l.calls = append(l.calls, "lock")
	return l.MemRecords.Lock(den, page)
}

func (l *lockRecorder) Unlock(den int8, page uint32) {
	l.calls = append(l.calls, "unlock")
	l.MemRecords.Unlock(den, page)
}

// TestRecordReadWithoutLock checks ABI version 2's record_read with no
// page lock held: the read takes and releases the record's page lock
// itself, answers ErrNoRecord for a record outside the database, and
// leaves the instance holding nothing.
func TestRecordReadWithoutLock(t *testing.T) {
	want := storage.Record{0: 0xaa, 15: 0xbb, 16: 0x5a}
	recs := &lockRecorder{MemRecords: storage.NewMemRecords(map[storage.RecordKey]storage.Record{{Den: 3, SN: 2049}: want})}
	env := NewEnv(&Backend{Records: recs})
	tests := []struct {
		den   int32
		sn    uint32
		errno abi.Errno
		want  storage.Record
		calls int // Lock and Unlock calls
	}{
		{3, 2049, abi.OK, want, 2},
		{3, 2050, abi.OK, storage.Record{}, 2}, // never written: zeros
		{-8, 0, abi.OK, storage.Record{}, 2},
		{7, 5, abi.ErrNoRecord, storage.Record{}, 0},
		{-9, 5, abi.ErrNoRecord, storage.Record{}, 0},
		{257, 5, abi.ErrNoRecord, storage.Record{}, 0}, // not den 1
		{1, abi.SNLimit, abi.ErrNoRecord, storage.Record{}, 0},
	}
	for _, tt := range tests {
		recs.calls = nil
		var got [abi.RecordSize]byte
		if e := env.RecordRead(tt.den, tt.sn, &got); e != tt.errno || got != tt.want {
			t.Errorf("RecordRead(%d, %d) = %v %x, want %v %x", tt.den, tt.sn, e, got, tt.errno, tt.want)
		}
		if len(recs.calls) != tt.calls || env.Locked() {
			t.Errorf("RecordRead(%d, %d): lock calls %v, holding %v; want %d calls and no lock held", tt.den, tt.sn, recs.calls, env.Locked(), tt.calls)
		}
	}
}

// TestRecordReadHoldingLock checks that holding a lock, record_read may
// read only that page's records and takes no lock of its own.
func TestRecordReadHoldingLock(t *testing.T) {
	recs := &lockRecorder{MemRecords: storage.NewMemRecords(nil)}
	env := NewEnv(&Backend{Records: recs})
	if e := env.PageLock(3, 2); e != abi.OK {
		t.Fatal(e)
	}
	recs.calls = nil
	var rec [abi.RecordSize]byte
	if e := env.RecordRead(3, 2*abi.RecordsPerPage+5, &rec); e != abi.OK || len(recs.calls) != 0 {
		t.Fatalf("read on the held page: %v, lock calls %v", e, recs.calls)
	}
	for _, r := range []struct {
		den int32
		sn  uint32
	}{{3, 5}, {2, 2*abi.RecordsPerPage + 5}, {3, abi.SNLimit}, {259, 2*abi.RecordsPerPage + 5}} {
		func() {
			defer func() {
				var f *Fault
				if p := recover(); p == nil {
					t.Errorf("RecordRead(%d, %d) holding (3, 2) did not fault", r.den, r.sn)
				} else if err, ok := p.(error); !ok || !errors.As(err, &f) {
					t.Errorf("RecordRead(%d, %d) panicked with %v, want a Fault", r.den, r.sn, p)
				}
			}()
			env.RecordRead(r.den, r.sn, &rec)
		}()
	}
	if !env.Locked() {
		t.Error("the held lock was lost")
	}
}

// TestRecordReadLockFails checks that a page lock the read cannot get
// (here: a storage error) is ErrIO and leaves nothing held.
func TestRecordReadLockFails(t *testing.T) {
	env := NewEnv(&Backend{Records: failingLocks{storage.NewMemRecords(nil)}})
	var rec [abi.RecordSize]byte
	if e := env.RecordRead(1, 7, &rec); e != abi.ErrIO || env.Locked() {
		t.Fatalf("RecordRead = %v, holding %v; want ErrIO, nothing held", e, env.Locked())
	}
}

type failingLocks struct{ *storage.MemRecords }

func (failingLocks) Lock(int8, uint32) error { return storage.ErrLockTimeout }
