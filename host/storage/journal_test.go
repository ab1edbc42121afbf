package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"
)

// jent is a journal entry, encoded by hand below after the format in
// journal.go, independently of the store's encoder.
type jent struct {
	den int8
	sn  uint32
	rec Record
}

func jentOf(den int8, sn uint32, tag byte) jent { return jent{den, sn, recOf(den, sn, tag)} }

// handHeader is the file header: magic, then the salt (LE).
func handHeader(salt uint64) []byte {
	return binary.LittleEndian.AppendUint64([]byte("RKXJRNL2"), salt)
}

// handBatch is one batch: salt, seq, count (LE), CRC-32C of those 20
// bytes and the entries, then 22-byte entries (den, sn LE, record).
func handBatch(salt, seq uint64, es ...jent) []byte {
	b := make([]byte, 24)
	binary.LittleEndian.PutUint64(b[0:], salt)
	binary.LittleEndian.PutUint64(b[8:], seq)
	binary.LittleEndian.PutUint32(b[16:], uint32(len(es)))
	var body []byte
	for _, e := range es {
		body = append(body, byte(e.den))
		body = binary.LittleEndian.AppendUint32(body, e.sn)
		body = append(body, e.rec[:]...)
	}
	tab := crc32.MakeTable(crc32.Castagnoli)
	binary.LittleEndian.PutUint32(b[20:], crc32.Update(crc32.Checksum(b[:20], tab), tab, body))
	return append(b, body...)
}

func writeJournal(t testing.TB, root, name string, parts ...[]byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(root, "Data"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, name), bytes.Join(parts, nil), 0o640); err != nil {
		t.Fatal(err)
	}
}

func TestJournalReplayHandMade(t *testing.T) {
	const salt = 0x1122334455667788
	for _, c := range []struct {
		name  string
		parts [][]byte
		want  []jent // records expected after replay
		none  []jent // records that must read as zero
	}{
		{
			name: "two batches, last entry of a record wins",
			parts: [][]byte{handHeader(salt),
				handBatch(salt, 1, jentOf(1, 5, 1), jentOf(-8, 1_023_999, 2)),
				handBatch(salt, 2, jentOf(1, 5, 3), jentOf(6, 0, 4))},
			want: []jent{jentOf(1, 5, 3), jentOf(-8, 1_023_999, 2), jentOf(6, 0, 4)},
		},
		{
			name:  "torn tail: a batch cut short",
			parts: [][]byte{handHeader(salt), handBatch(salt, 1, jentOf(2, 7, 1)), handBatch(salt, 2, jentOf(2, 8, 1))[:30]},
			want:  []jent{jentOf(2, 7, 1)},
			none:  []jent{jentOf(2, 8, 1)},
		},
		{
			name:  "torn tail: a stale batch of another file",
			parts: [][]byte{handHeader(salt), handBatch(salt, 1, jentOf(2, 7, 1)), handBatch(salt+1, 2, jentOf(2, 8, 1))},
			want:  []jent{jentOf(2, 7, 1)},
			none:  []jent{jentOf(2, 8, 1)},
		},
		{
			name:  "torn tail: a batch out of sequence",
			parts: [][]byte{handHeader(salt), handBatch(salt, 1, jentOf(2, 7, 1)), handBatch(salt, 1, jentOf(2, 8, 1))},
			want:  []jent{jentOf(2, 7, 1)},
			none:  []jent{jentOf(2, 8, 1)},
		},
		{
			name:  "torn tail: garbage",
			parts: [][]byte{handHeader(salt), handBatch(salt, 1, jentOf(2, 7, 1)), bytes.Repeat([]byte{0xff}, 100)},
			want:  []jent{jentOf(2, 7, 1)},
		},
		{name: "header only", parts: [][]byte{handHeader(salt)}, none: []jent{jentOf(2, 7, 1)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			writeJournal(t, root, journalName, c.parts...)
			s := openStore(t, root, PageStoreOptions{})
			for _, e := range c.want {
				if got, pending := readRec(t, s, e.den, e.sn); got != e.rec || pending {
					t.Errorf("record (%d, %d) = %x (pending %v), want %x", e.den, e.sn, got, pending, e.rec)
				}
				if got := pageRecord(t, root, e.den, e.sn); got != e.rec {
					t.Errorf("page file record (%d, %d) = %x: replay did not reach the page", e.den, e.sn, got)
				}
			}
			for _, e := range c.none {
				if got := getRec(t, s, e.den, e.sn); got != (Record{}) {
					t.Errorf("record (%d, %d) = %x, want zero", e.den, e.sn, got)
				}
			}
			// Open replaced the journal by an empty one.
			if data, err := os.ReadFile(filepath.Join(root, journalName)); err != nil || len(data) != journalHeaderSize {
				t.Errorf("journal after open: %d bytes, err %v", len(data), err)
			}
		})
	}
}

// The old journal of an unfinished checkpoint is replayed before the
// journal, and both are gone afterwards.
func TestJournalReplayOldThenNew(t *testing.T) {
	root := t.TempDir()
	writeJournal(t, root, journalOldName, handHeader(1), handBatch(1, 1, jentOf(3, 9, 1), jentOf(3, 10, 1)))
	writeJournal(t, root, journalName, handHeader(2), handBatch(2, 1, jentOf(3, 9, 2)))
	s := openStore(t, root, PageStoreOptions{})
	if got := getRec(t, s, 3, 9); got != recOf(3, 9, 2) {
		t.Errorf("record (3, 9) = %x: the old journal was replayed last", got)
	}
	if got := getRec(t, s, 3, 10); got != recOf(3, 10, 1) {
		t.Errorf("record (3, 10) = %x", got)
	}
	if _, err := os.Stat(filepath.Join(root, journalOldName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("old journal after open: %v", err)
	}
}

// Damage before intact batches is corruption, not a torn tail: open
// refuses and changes nothing; CheckJournal reports it, TruncateJournal
// cuts it, and then the batches before it are replayed.
func TestJournalCorruptInTheMiddle(t *testing.T) {
	const salt = 77
	b1 := handBatch(salt, 1, jentOf(0, 1, 1))
	b2 := handBatch(salt, 2, jentOf(0, 2, 2))
	b3 := handBatch(salt, 3, jentOf(0, 3, 3))
	b4 := handBatch(salt, 4, jentOf(0, 4, 4))
	b2[30] ^= 0x40 // a bit flip in batch 2's entry
	root := t.TempDir()
	writeJournal(t, root, journalName, handHeader(salt), b1, b2, b3, b4)
	before, _ := os.ReadFile(filepath.Join(root, journalName))

	_, err := OpenPageStore(root, PageStoreOptions{})
	var corrupt *JournalCorruptError
	if !errors.As(err, &corrupt) {
		t.Fatalf("open = %v, want a JournalCorruptError", err)
	}
	wantOff := int64(journalHeaderSize + len(b1))
	if corrupt.Offset != wantOff || corrupt.Seq != 2 || corrupt.Later != 2 || corrupt.Path != filepath.Join(root, journalName) {
		t.Fatalf("corruption reported %+v, want offset %d, seq 2, 2 later batches", corrupt, wantOff)
	}
	if after, _ := os.ReadFile(filepath.Join(root, journalName)); !bytes.Equal(after, before) {
		t.Fatal("a refused open changed the journal")
	}
	if got := pageRecord(t, root, 0, 1); got != (Record{}) {
		t.Fatal("a refused open replayed batch 1")
	}

	scans, err := CheckJournal(root)
	if err != nil || len(scans) != 1 || scans[0].Corrupt == nil || scans[0].Batches != 1 || scans[0].End != wantOff {
		t.Fatalf("CheckJournal = %+v, %v", scans, err)
	}
	if _, err := TruncateJournal(root); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(root, journalName)); fi.Size() != wantOff {
		t.Fatalf("truncated journal is %d bytes, want %d", fi.Size(), wantOff)
	}
	s := openStore(t, root, PageStoreOptions{})
	if got := getRec(t, s, 0, 1); got != recOf(0, 1, 1) {
		t.Errorf("batch 1 not replayed: %x", got)
	}
	for sn := uint32(2); sn <= 4; sn++ {
		if got := getRec(t, s, 0, sn); got != (Record{}) {
			t.Errorf("record (0, %d) = %x from a dropped batch", sn, got)
		}
	}
}

func TestJournalUnusable(t *testing.T) {
	for _, c := range []struct {
		name  string
		parts [][]byte
	}{
		{"wrong magic", [][]byte{[]byte("RKXJRNL1"), make([]byte, 8)}},
		{"header cut short", [][]byte{[]byte("RKXJ")}},
		{"entry for a record that does not exist", [][]byte{handHeader(5), handBatch(5, 1, jentOf(7, 1, 1))}},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			writeJournal(t, root, journalName, c.parts...)
			if s, err := OpenPageStore(root, PageStoreOptions{}); err == nil {
				s.Close()
				t.Fatal("opened a data root with an unusable journal")
			}
			if data, _ := os.ReadFile(filepath.Join(root, journalName)); !bytes.Equal(data, bytes.Join(c.parts, nil)) {
				t.Fatal("the journal was changed")
			}
		})
	}
}

// What a running store journals is what the format says: the test decodes
// the file by hand.
func TestJournalFormatOnDisk(t *testing.T) {
	root := t.TempDir()
	s := openStore(t, root, PageStoreOptions{})
	putRec(t, s, 2, 9, recOf(2, 9, 1))
	putRec(t, s, -3, 1000, recOf(-3, 1000, 2))
	commit(t, s)
	data, err := os.ReadFile(filepath.Join(root, journalName))
	if err != nil {
		t.Fatal(err)
	}
	salt := binary.LittleEndian.Uint64(data[8:])
	want := append(handHeader(salt), handBatch(salt, 1, jentOf(-3, 1000, 2), jentOf(2, 9, 1))...)
	if !bytes.Equal(data, want) {
		t.Fatalf("journal\n%x\nwant\n%x", data, want)
	}
}
