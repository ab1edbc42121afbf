package storage

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/storage/vfs"
)

// The journal is DATAROOT/raidakx.journal, beside Data/ so that the node's
// own tree keeps exactly the node's layout. It is a redo log: a commit
// round appends the records written since the previous round to it as one
// batch and syncs that one file (fdatasync); only then are the records
// written in place into their page files. A checkpoint renames the journal
// to raidakx.journal.old, puts an empty journal in place, syncs the page
// files written since the previous checkpoint and only then removes the
// old journal. OpenPageStore replays the old journal, then the journal,
// which a store that was not closed left; Close checkpoints and removes
// both, so a data root stopped cleanly is exactly the node's.
//
// Format, every integer little-endian:
//
//	file header, 16 bytes:
//	  magic  [8]byte   "RKXJRNL2"
//	  salt   uint64    random, new for every journal file
//	then batches, one per commit round, each:
//	  salt   uint64    the file's salt
//	  seq    uint64    1 for the first batch of the file, then +1 each
//	  count  uint32    entries, 1..maxBatchEntries
//	  crc    uint32    CRC-32C (Castagnoli) of the 20 bytes above, then
//	                   of the entries
//	  count entries of 22 bytes:
//	    den    int8
//	    sn     uint32
//	    record [17]byte  the whole record (AN 16, MFS 1) as written
//
// An entry sets a whole record, so replaying it is idempotent: replaying a
// journal twice, or over page files that hold some of its records, older
// or newer values of them, or records torn by a crash during the in-place
// write, gives every record its last journaled value.
//
// A file is only put in place whole (temporary file, synced, renamed, the
// data root synced). A round writes its batch with one write at the end of
// the last good batch and syncs it before any Commit it serves returns; a
// round that failed is cut off (the file truncated to the last good batch)
// before the next one writes. So only the last batch can be damaged by a
// crash: cut short, or holding garbage. Replay stops at the first batch
// that is incomplete, has a bad CRC, another salt or an unexpected seq. If
// an intact batch of the file follows that point, the damage is not a torn
// tail but corruption of synced data: replay refuses with a
// *JournalCorruptError instead of dropping acknowledged batches.
const (
	journalName       = "raidakx.journal"
	journalOldName    = "raidakx.journal.old"
	journalTemp       = ".raidakx.journal.tmp"
	journalMagic      = "RKXJRNL2"
	journalHeaderSize = 16
	batchHeaderSize   = 24
	entrySize         = 1 + 4 + abi.RecordSize
	// maxBatchEntries bounds a batch: a round journals at most
	// maxPendingRecords records, so it is always one batch.
	maxBatchEntries = maxPendingRecords
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// JournalCorruptError reports damage inside a journal, before intact
// batches that a crash could not have left: replaying past it would drop
// acknowledged changes. `raidakx journal check` shows it and `raidakx
// journal truncate` cuts the journal at Offset, dropping Later batches.
type JournalCorruptError struct {
	Path   string // the journal file
	Offset int64  // where the first bad batch starts
	Seq    uint64 // the seq expected there
	Later  int    // intact batches found after it
}

func (e *JournalCorruptError) Error() string {
	return fmt.Sprintf("storage: journal %s is corrupt at offset %d (batch %d), with %d intact batches after it; "+
		"replaying would lose acknowledged changes. Inspect it with `raidakx journal check DATAROOT`; "+
		"`raidakx journal truncate DATAROOT` cuts it at offset %d, dropping those batches",
		e.Path, e.Offset, e.Seq, e.Later, e.Offset)
}

// journalEntry is one journaled record.
type journalEntry struct {
	key RecordKey
	rec Record
}

// journal is the open journal file. PageStore.jmu guards it.
type journal struct {
	f    vfs.File
	salt uint64
	seq  uint64 // seq of the next batch
	size int64  // end of the last good batch: where the next one goes
	// A write or sync failed: bytes after size may hold a remnant, cut off
	// before the next write.
	failed bool
	// The file was renamed into place but the data root could not be
	// synced: no append is acknowledged until it is.
	needDirSync bool
}

// appendBatch appends entries to dst as one batch of salt and seq.
func appendBatch(dst []byte, salt, seq uint64, entries []journalEntry) []byte {
	start := len(dst)
	dst = binary.LittleEndian.AppendUint64(dst, salt)
	dst = binary.LittleEndian.AppendUint64(dst, seq)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(entries)))
	dst = append(dst, 0, 0, 0, 0)
	for _, e := range entries {
		dst = append(dst, byte(e.key.Den))
		dst = binary.LittleEndian.AppendUint32(dst, e.key.SN)
		dst = append(dst, e.rec[:]...)
	}
	crc := crc32.Checksum(dst[start:start+20], castagnoli)
	crc = crc32.Update(crc, castagnoli, dst[start+batchHeaderSize:])
	binary.LittleEndian.PutUint32(dst[start+20:], crc)
	return dst
}

// append writes batch b at the end of the journal and syncs it. On an
// error the journal is marked failed and is as before for replay: the
// next append first cuts off whatever part of b reached the file.
func (j *journal) append(top vfs.FS, b []byte) error {
	if j.needDirSync {
		if err := top.SyncDir("."); err != nil {
			return err
		}
		j.needDirSync = false
	}
	if err := j.cut(); err != nil {
		return err
	}
	j.failed = true
	if _, err := j.f.WriteAt(b, j.size); err != nil {
		return err
	}
	if err := j.f.Datasync(); err != nil {
		return err
	}
	j.failed = false
	j.size += int64(len(b))
	j.seq++
	return nil
}

// cut truncates a failed journal to its last good batch.
func (j *journal) cut() error {
	if !j.failed {
		return nil
	}
	if err := j.f.Truncate(j.size); err != nil {
		return err
	}
	j.failed = false
	return nil
}

// createJournal puts a new, empty journal file in place: it writes a
// temporary file in the data root, syncs it, renames it over the journal
// and syncs the data root. It returns nil with an error when nothing was
// renamed; a journal and an error when the rename happened but the data
// root could not be synced (the journal syncs it before its first append).
func createJournal(top vfs.FS) (*journal, error) {
	salt := rand.Uint64()
	b := make([]byte, journalHeaderSize)
	copy(b, journalMagic)
	binary.LittleEndian.PutUint64(b[8:], salt)
	f, err := top.OpenFile(journalTemp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, filePerm)
	if err != nil {
		return nil, err
	}
	_, err = f.WriteAt(b, 0)
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = top.Rename(journalTemp, journalName)
	}
	if err != nil {
		f.Close()
		top.Remove(journalTemp)
		return nil, err
	}
	j := &journal{f: f, salt: salt, seq: 1, size: journalHeaderSize}
	if err := top.SyncDir("."); err != nil {
		j.needDirSync = true
		return j, err
	}
	return j, nil
}

// JournalScan is what scanning one journal file found.
type JournalScan struct {
	Path    string
	Size    int64 // bytes in the file
	Batches int   // good batches
	Records int   // entries in them
	End     int64 // end of the last good batch
	Torn    int64 // bytes after End: a torn tail, ignored by replay
	Corrupt *JournalCorruptError
	Salt    uint64 // from the header
	Empty   bool   // a zero-length file (a crash while it was created)
}

// scanJournal reads the journal file f at path and calls fn (when not nil)
// with the entries of each good batch, in order. It returns what it found;
// scan.Corrupt is also returned as the error, so that replay cannot go on
// past corruption by mistake.
func scanJournal(f vfs.File, path string, fn func([]journalEntry) error) (*JournalScan, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("storage: journal %s is not a regular file", path)
	}
	sc := &JournalScan{Path: path, Size: fi.Size()}
	if sc.Size == 0 {
		sc.Empty = true
		return sc, nil
	}
	var h [journalHeaderSize]byte
	if _, err := f.ReadAt(h[:], 0); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("storage: journal %s: header cut short", path)
		}
		return nil, fmt.Errorf("storage: journal %s: %w", path, err)
	}
	if string(h[:8]) != journalMagic {
		return nil, fmt.Errorf("storage: journal %s: not a journal of this version (magic %q)", path, h[:8])
	}
	sc.Salt = binary.LittleEndian.Uint64(h[8:])
	r := bufio.NewReaderSize(io.NewSectionReader(f, journalHeaderSize, sc.Size-journalHeaderSize), 64<<10)
	off, seq := int64(journalHeaderSize), uint64(1)
	var (
		hdr     [batchHeaderSize]byte
		body    []byte
		entries []journalEntry
	)
	for {
		count, ok := batchHeader(hdr[:], sc.Salt, seq, sc.Size-off, r)
		if !ok {
			break
		}
		if int64(cap(body)) < count*entrySize {
			body = make([]byte, count*entrySize)
		}
		body = body[:count*entrySize]
		if _, err := io.ReadFull(r, body); err != nil {
			return nil, fmt.Errorf("storage: journal %s: %w", path, err)
		}
		if batchCRC(hdr[:], body) != binary.LittleEndian.Uint32(hdr[20:]) {
			break
		}
		entries = decodeEntries(entries[:0], body)
		if fn != nil {
			if err := fn(entries); err != nil {
				return sc, err
			}
		}
		sc.Batches++
		sc.Records += len(entries)
		off += batchHeaderSize + count*entrySize
		seq++
	}
	sc.End, sc.Torn = off, sc.Size-off
	if sc.Torn > 0 {
		later, err := intactBatchesAfter(f, sc.Salt, seq, off, sc.Size)
		if err != nil {
			return nil, fmt.Errorf("storage: journal %s: %w", path, err)
		}
		if later > 0 {
			sc.Corrupt = &JournalCorruptError{Path: path, Offset: off, Seq: seq, Later: later}
			return sc, sc.Corrupt
		}
	}
	return sc, nil
}

// batchHeader reads a batch header from r into hdr and checks it against
// the salt and seq expected, with left bytes left in the file; it returns
// the entry count and whether the header is good.
func batchHeader(hdr []byte, salt, seq uint64, left int64, r io.Reader) (int64, bool) {
	if left < batchHeaderSize {
		return 0, false
	}
	if _, err := io.ReadFull(r, hdr); err != nil {
		return 0, false
	}
	count := int64(binary.LittleEndian.Uint32(hdr[16:]))
	if binary.LittleEndian.Uint64(hdr[0:]) != salt || binary.LittleEndian.Uint64(hdr[8:]) != seq ||
		count < 1 || count > maxBatchEntries || left-batchHeaderSize < count*entrySize {
		return 0, false
	}
	return count, true
}

func batchCRC(hdr, body []byte) uint32 {
	return crc32.Update(crc32.Checksum(hdr[:20], castagnoli), castagnoli, body)
}

func decodeEntries(dst []journalEntry, body []byte) []journalEntry {
	for e := body; len(e) >= entrySize; e = e[entrySize:] {
		je := journalEntry{key: RecordKey{Den: int8(e[0]), SN: binary.LittleEndian.Uint32(e[1:])}}
		copy(je.rec[:], e[5:entrySize])
		dst = append(dst, je)
	}
	return dst
}

// intactBatchesAfter counts the intact batches of salt with a seq above
// seq that start after off: the salt's bytes at any offset, followed by a
// header and entries whose CRC holds. A torn tail has none, since nothing
// is appended after a batch that did not sync.
func intactBatchesAfter(f vfs.File, salt, seq uint64, off, size int64) (int, error) {
	tail := make([]byte, size-off)
	if _, err := f.ReadAt(tail, off); err != nil && !errors.Is(err, io.EOF) {
		return 0, err
	}
	var pat [8]byte
	binary.LittleEndian.PutUint64(pat[:], salt)
	n := 0
	for i := 1; i < len(tail); i++ {
		k := bytes.Index(tail[i:], pat[:])
		if k < 0 {
			break
		}
		i += k
		b := tail[i:]
		if len(b) < batchHeaderSize {
			break
		}
		count := int64(binary.LittleEndian.Uint32(b[16:]))
		if binary.LittleEndian.Uint64(b[8:]) <= seq-1 || count < 1 || count > maxBatchEntries ||
			int64(len(b))-batchHeaderSize < count*entrySize {
			continue
		}
		body := b[batchHeaderSize : batchHeaderSize+count*entrySize]
		if batchCRC(b, body) == binary.LittleEndian.Uint32(b[20:]) {
			n++
			i += batchHeaderSize + int(count)*entrySize - 1
		}
	}
	return n, nil
}

// CheckJournal scans the journal files of the data root dataRoot (the old
// journal first, when there is one) without changing anything. A file
// that does not exist is left out.
func CheckJournal(dataRoot string) ([]*JournalScan, error) {
	top, err := vfs.OpenDir(dataRoot)
	if err != nil {
		return nil, fmt.Errorf("storage: open data root: %w", err)
	}
	defer top.Close()
	var scans []*JournalScan
	for _, name := range []string{journalOldName, journalName} {
		f, err := top.OpenFile(name, os.O_RDONLY, 0)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return scans, fmt.Errorf("storage: journal %s: %w", top.Path(name), err)
		}
		sc, err := scanJournal(f, top.Path(name), nil)
		f.Close()
		if sc != nil {
			scans = append(scans, sc)
		}
		var corrupt *JournalCorruptError
		if err != nil && !errors.As(err, &corrupt) {
			return scans, err
		}
	}
	return scans, nil
}

// TruncateJournal cuts every corrupt journal file of the data root at its
// first bad batch and syncs it, so that the batches before it can be
// replayed; the intact batches after it are dropped. It returns the scans
// of the files it cut.
func TruncateJournal(dataRoot string) ([]*JournalScan, error) {
	scans, err := CheckJournal(dataRoot)
	if err != nil {
		return nil, err
	}
	top, err := vfs.OpenDir(dataRoot)
	if err != nil {
		return nil, err
	}
	defer top.Close()
	var cut []*JournalScan
	for _, sc := range scans {
		if sc.Corrupt == nil {
			continue
		}
		name := journalName
		if sc.Path == top.Path(journalOldName) {
			name = journalOldName
		}
		f, err := top.OpenFile(name, os.O_RDWR, 0)
		if err != nil {
			return cut, err
		}
		err = f.Truncate(sc.Corrupt.Offset)
		if err == nil {
			err = f.Sync()
		}
		f.Close()
		if err != nil {
			return cut, fmt.Errorf("storage: truncate %s: %w", sc.Path, err)
		}
		cut = append(cut, sc)
	}
	return cut, nil
}
