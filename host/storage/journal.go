package storage

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/raidakx/raidakx/abi"
)

// The journal is DATAROOT/raidakx.journal, beside Data/ so that the node's
// own tree keeps exactly the node's layout. A commit round appends the
// records written since the previous round to it and syncs that one file
// (fdatasync), whatever the number of pages the records are in; the page
// files are written back later, in the background, and the part of the
// journal they cover is then dropped (see writeBack). OpenPageStore replays
// the journal that a store which was not closed left behind; Close writes
// every page back and removes the journal, so that a data root stopped
// cleanly is exactly the node's.
//
// Format, every integer little-endian:
//
//	file header, 16 bytes:
//	  magic  [8]byte   "RKXJRNL1"
//	  salt   uint64    random, new for every journal file
//	then batches, one or more per commit round, each:
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
// journal twice, or over page files that already hold some or all of its
// records, or newer values of them, gives the records their journaled
// values. Entries are applied in file order, so the last entry of a record
// wins.
//
// A file is only ever put in place whole: written as a temporary file
// (journalTemp), synced, renamed over the journal, and the data root
// synced. Batches are then appended, each round with one write at the end
// of the last good batch, and synced before any Commit that the round
// serves returns. So only the tail after the last synced batch can be
// damaged by a crash: cut short, or holding garbage or stale blocks (some
// file systems can expose blocks after a crash that were never written, in
// which an old journal's batches may be). Replay reads batches up to the
// first one that is incomplete, has a bad CRC, another salt or an
// unexpected seq, and ignores everything from there on: salt and seq keep
// a stale batch of an older file, or of this one, from passing as new.
const (
	journalName       = "raidakx.journal"
	journalTemp       = ".raidakx.journal.tmp"
	journalMagic      = "RKXJRNL1"
	journalHeaderSize = 16
	batchHeaderSize   = 24
	entrySize         = 1 + 4 + abi.RecordSize
	maxBatchEntries   = 1 << 16

	// DefaultJournalLimit is the default of PageStoreOptions.JournalLimit.
	DefaultJournalLimit = 8 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// journalEntry is one journaled record.
type journalEntry struct {
	den int8
	sn  uint32
	rec Record
}

// journal is the open journal file. PageStore.jmu guards it.
type journal struct {
	f    *os.File
	salt uint64
	seq  uint64 // seq of the next batch
	size int64  // end of the last good batch: where the next one goes
	// The file was renamed into place but the data root could not be
	// synced: no append is acknowledged until it is.
	needDirSync bool

	// write writes at an offset; f.WriteAt when nil. Tests replace it to
	// simulate a full disk.
	write func(f *os.File, b []byte, off int64) (int, error)
}

// journalMark is a position in the journal: an offset between batches and
// the seq of the batch there.
type journalMark struct {
	off int64
	seq uint64
}

func (j *journal) mark() journalMark { return journalMark{j.size, j.seq} }

// appendBatches appends entries to dst as batches of salt starting with
// seq, and returns the seq after them.
func appendBatches(dst []byte, salt, seq uint64, entries []journalEntry) ([]byte, uint64) {
	for len(entries) > 0 {
		n := min(len(entries), maxBatchEntries)
		start := len(dst)
		dst = binary.LittleEndian.AppendUint64(dst, salt)
		dst = binary.LittleEndian.AppendUint64(dst, seq)
		dst = binary.LittleEndian.AppendUint32(dst, uint32(n))
		dst = append(dst, 0, 0, 0, 0)
		for _, e := range entries[:n] {
			dst = append(dst, byte(e.den))
			dst = binary.LittleEndian.AppendUint32(dst, e.sn)
			dst = append(dst, e.rec[:]...)
		}
		crc := crc32.Checksum(dst[start:start+20], castagnoli)
		crc = crc32.Update(crc, castagnoli, dst[start+batchHeaderSize:])
		binary.LittleEndian.PutUint32(dst[start+20:], crc)
		entries = entries[n:]
		seq++
	}
	return dst, seq
}

// append writes the batches b (encoded with j.salt from j.seq on, ending
// before seq next) at the end of the journal and syncs it. On an error the
// journal is as before: b, or a part of it, may be in the file after the
// last good batch, where replay ignores it; the next append writes at the
// same place, and covers it all (the next round journals again every
// record of the failed one, and a record takes as many bytes whatever the
// round), so no remnant of a failed append can follow a good batch. The
// same bytes written again are also what recovers from a failed sync.
func (j *journal) append(top *os.Root, b []byte, next uint64) error {
	if j.needDirSync {
		if err := syncDir(top, "."); err != nil {
			return err
		}
		j.needDirSync = false
	}
	write := j.write
	if write == nil {
		write = (*os.File).WriteAt
	}
	if _, err := write(j.f, b, j.size); err != nil {
		return err
	}
	if err := datasync(j.f); err != nil {
		return err
	}
	j.size += int64(len(b))
	j.seq = next
	return nil
}

// entriesFrom returns the entries of the batches after m.
func (j *journal) entriesFrom(m journalMark) ([]journalEntry, error) {
	var all []journalEntry
	end, _, err := scanBatches(io.NewSectionReader(j.f, m.off, j.size-m.off), j.size-m.off, j.salt, m.seq,
		func(es []journalEntry) error {
			all = append(all, es...)
			return nil
		})
	if err == nil && end != j.size-m.off {
		err = fmt.Errorf("batches after offset %d unreadable", m.off+end)
	}
	return all, err
}

// newJournal puts a new journal file in place, with a new salt and
// entries (none for an empty journal): it writes a temporary file in the
// data root, syncs it, renames it over the journal and syncs the data
// root. The journal it returns is open for appending. It returns nil with
// an error when the old journal file, if any, is still in place; a journal
// and an error when the rename happened but the data root could not be
// synced (the journal then syncs it before its first append).
func newJournal(top *os.Root, old uint64, entries []journalEntry) (*journal, error) {
	salt := rand.Uint64()
	for salt == old || salt == 0 {
		salt = rand.Uint64()
	}
	b := make([]byte, journalHeaderSize, journalHeaderSize+batchHeaderSize+len(entries)*entrySize)
	copy(b, journalMagic)
	binary.LittleEndian.PutUint64(b[8:], salt)
	b, seq := appendBatches(b, salt, 1, entries)

	f, err := top.OpenFile(journalTemp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, filePerm)
	if err != nil {
		return nil, err
	}
	err = f.Chmod(filePerm) // whatever the umask
	if err == nil {
		_, err = f.Write(b)
	}
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
	j := &journal{f: f, salt: salt, seq: seq, size: int64(len(b))}
	if err := syncDir(top, "."); err != nil {
		j.needDirSync = true
		return j, err
	}
	return j, nil
}

// readJournalHeader reads the header of a journal file of size bytes and
// returns its salt.
func readJournalHeader(r io.Reader) (uint64, error) {
	var h [journalHeaderSize]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, errors.New("header cut short")
		}
		return 0, err
	}
	if string(h[:8]) != journalMagic {
		return 0, fmt.Errorf("not a journal of this version (magic %q)", h[:8])
	}
	return binary.LittleEndian.Uint64(h[8:]), nil
}

// scanBatches reads the batches in r, which holds size bytes and whose
// first batch must have seq seq, and calls fn with the entries of each
// good one, in order, up to the first torn one: incomplete, with a bad CRC,
// another salt, an unexpected seq or a count out of range. It returns the
// end of the last good batch in r and the seq after it. An error is a read
// error or fn's.
func scanBatches(r io.Reader, size int64, salt, seq uint64, fn func([]journalEntry) error) (int64, uint64, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var (
		off     int64
		hdr     [batchHeaderSize]byte
		body    []byte
		entries []journalEntry
	)
	for {
		if size-off < batchHeaderSize {
			return off, seq, nil
		}
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return off, seq, eofIsEnd(err)
		}
		count := int64(binary.LittleEndian.Uint32(hdr[16:]))
		if binary.LittleEndian.Uint64(hdr[0:]) != salt || binary.LittleEndian.Uint64(hdr[8:]) != seq ||
			count < 1 || count > maxBatchEntries || size-off-batchHeaderSize < count*entrySize {
			return off, seq, nil
		}
		if int64(cap(body)) < count*entrySize {
			body = make([]byte, count*entrySize)
		}
		body = body[:count*entrySize]
		if _, err := io.ReadFull(br, body); err != nil {
			return off, seq, eofIsEnd(err)
		}
		crc := crc32.Checksum(hdr[:20], castagnoli)
		if crc32.Update(crc, castagnoli, body) != binary.LittleEndian.Uint32(hdr[20:]) {
			return off, seq, nil
		}
		entries = entries[:0]
		for e := body; len(e) > 0; e = e[entrySize:] {
			je := journalEntry{den: int8(e[0]), sn: binary.LittleEndian.Uint32(e[1:])}
			copy(je.rec[:], e[5:entrySize])
			entries = append(entries, je)
		}
		if err := fn(entries); err != nil {
			return off, seq, err
		}
		off += batchHeaderSize + count*entrySize
		seq++
	}
}

// eofIsEnd returns nil for the end of a file that turned out shorter than
// its size said (it changed under the reader), else err.
func eofIsEnd(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return nil
	}
	return err
}

// openJournal replays the journal that a store which was not closed left
// in the data root, makes the pages it changed durable and puts a new,
// empty journal in place. It runs in OpenPageStore before the store's
// goroutines start.
func (s *PageStore) openJournal() error {
	if err := s.top.Remove(journalTemp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("storage: remove stale %s: %w", filepath.Join(filepath.Dir(s.jpath), journalTemp), err)
	}
	f, err := s.top.Open(journalName)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("storage: journal %s: %w", s.jpath, err)
	default:
		n, err := s.replay(f)
		f.Close()
		if err != nil {
			return err
		}
		if n > 0 {
			if _, err := s.flush(); err != nil {
				return fmt.Errorf("storage: journal %s: write back the replayed pages: %w", s.jpath, err)
			}
		}
	}
	// The replayed records are durable in their pages: the journal can go.
	j, err := newJournal(s.top, 0, nil)
	if err != nil {
		if j != nil {
			j.f.Close()
		}
		return fmt.Errorf("storage: journal %s: create: %w", s.jpath, err)
	}
	s.j = j
	return nil
}

// replay applies the good batches of the journal file f to the cached
// pages, which it leaves dirty, and returns how many entries it applied.
func (s *PageStore) replay(f *os.File) (int, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("storage: journal %s: %w", s.jpath, err)
	}
	if !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("storage: journal %s is not a regular file", s.jpath)
	}
	if fi.Size() == 0 {
		return 0, nil
	}
	salt, err := readJournalHeader(f)
	if err != nil {
		return 0, fmt.Errorf("storage: journal %s: %w", s.jpath, err)
	}
	n := 0
	size := fi.Size() - journalHeaderSize
	end, _, err := scanBatches(f, size, salt, 1, func(es []journalEntry) error {
		for _, e := range es {
			if err := s.replayEntry(e); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("storage: journal %s: replay: %w", s.jpath, err)
	}
	if n > 0 || end < size {
		s.log.Info("storage: journal replayed", "journal", s.jpath, "records", n, "ignored_tail_bytes", size-end)
	}
	return n, nil
}

// replayEntry sets a record from the journal in its cached page, which it
// makes dirty, writing dirty pages back first when the cache is over its
// bound.
func (s *PageStore) replayEntry(e journalEntry) error {
	if !abi.RecordExists(e.den, e.sn) {
		return fmt.Errorf("entry for record (%d, %d), which does not exist", e.den, e.sn)
	}
	s.mu.Lock()
	over := s.cached > s.limit && len(s.dirty) > 0
	s.mu.Unlock()
	if over {
		if _, err := s.flush(); err != nil {
			return err
		}
	}
	key := PageKey{e.den, abi.Page(e.sn)}
	s.mu.Lock()
	p := s.pages[key]
	if p == nil {
		p = &page{key: key}
		s.pages[key] = p
	}
	p.refs++
	if p.elem != nil {
		s.lru.Remove(p.elem)
		p.elem = nil
	}
	s.mu.Unlock()
	err := s.load(p)
	if err == nil {
		off := int(e.sn%abi.RecordsPerPage) * abi.RecordSize
		p.dmu.Lock()
		copy(p.data[off:off+abi.RecordSize], e.rec[:])
		p.dmu.Unlock()
		s.mu.Lock()
		p.version++
		s.dirty[p] = struct{}{}
		s.mu.Unlock()
	}
	s.unpin(p)
	return err
}
