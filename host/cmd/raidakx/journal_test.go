package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raidakx/raidakx/host/storage"
)

// The journal format of host/storage/journal.go, written out longhand here
// independently of the storage package's encoder: a 16-byte header (magic
// "RKXJRNL2", salt u64), then batches of a 24-byte header (salt u64, seq
// u64, count u32, CRC-32C u32 of the 20 bytes before it and of the
// entries) and count 22-byte entries (den int8, sn u32, record 17 bytes),
// every integer little-endian.

type jtEntry struct {
	den int8
	sn  uint32
	rec [17]byte
}

// jtRecord is a record whose 17 bytes are all b.
func jtRecord(den int8, sn uint32, b byte) jtEntry {
	e := jtEntry{den: den, sn: sn}
	for i := range e.rec {
		e.rec[i] = b
	}
	return e
}

func jtHeader(salt uint64) []byte {
	return binary.LittleEndian.AppendUint64([]byte("RKXJRNL2"), salt)
}

func jtBatch(salt, seq uint64, entries ...jtEntry) []byte {
	b := binary.LittleEndian.AppendUint64(nil, salt)
	b = binary.LittleEndian.AppendUint64(b, seq)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(entries)))
	b = append(b, 0, 0, 0, 0) // the CRC, below
	for _, e := range entries {
		b = append(b, byte(e.den))
		b = binary.LittleEndian.AppendUint32(b, e.sn)
		b = append(b, e.rec[:]...)
	}
	if len(b) != 24+22*len(entries) {
		panic("batch size")
	}
	table := crc32.MakeTable(crc32.Castagnoli)
	crc := crc32.Update(crc32.Checksum(b[:20], table), table, b[24:])
	binary.LittleEndian.PutUint32(b[20:], crc)
	return b
}

// jtRoot makes a data root with an empty Data folder.
func jtRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "Data"), 0o750); err != nil {
		t.Fatal(err)
	}
	return root
}

func jtWrite(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o640); err != nil {
		t.Fatal(err)
	}
}

// jtRun runs raidakx journal with args and returns its exit code, stdout
// and stderr.
func jtRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := journalMain(args, &stdout, &stderr)
	t.Logf("raidakx journal %s: exit %d\n%s%s", strings.Join(args, " "), code, stdout.String(), stderr.String())
	return code, stdout.String(), stderr.String()
}

// jtReadRecord reads record (den, sn) from its page file, written out by
// hand: Data/{den:02x}/{page>>8:02x}/{page:04x}.bin, 17 bytes at
// 17 * (sn % 1024); zero when the page file does not exist.
func jtReadRecord(t *testing.T, root string, den int8, sn uint32) [17]byte {
	t.Helper()
	page := sn / 1024
	path := filepath.Join(root, "Data", fmt.Sprintf("%02x", byte(den)), fmt.Sprintf("%02x", page>>8), fmt.Sprintf("%04x.bin", page))
	var rec [17]byte
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return rec
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != 17408 {
		t.Fatalf("page file %s has %d bytes, want 17408", path, len(data))
	}
	copy(rec[:], data[17*(sn%1024):])
	return rec
}

func jtOpen(root string) (*storage.PageStore, error) {
	return storage.OpenPageStore(root, storage.PageStoreOptions{Logger: slog.New(slog.DiscardHandler)})
}

func jtMustContain(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s does not say %q:\n%s", what, sub, s)
		}
	}
}

func TestJournalUsage(t *testing.T) {
	root := jtRoot(t)
	notRoot := t.TempDir()
	file := filepath.Join(root, "config.toml")
	jtWrite(t, file, nil)
	for _, c := range []struct {
		args []string
		say  string
	}{
		{nil, "usage: raidakx journal check DIR"},
		{[]string{"check"}, "usage: raidakx journal check DIR"},
		{[]string{"check", root, root}, "usage: raidakx journal check DIR"},
		{[]string{"repair", root}, `unknown action "repair"`},
		{[]string{"check", filepath.Join(root, "nope")}, "data root " + filepath.Join(root, "nope") + " does not exist"},
		{[]string{"truncate", filepath.Join(root, "nope")}, "does not exist"},
		{[]string{"check", file}, "is not a folder"},
		{[]string{"check", notRoot}, "is not a data root"},
	} {
		code, stdout, stderr := jtRun(t, c.args...)
		if code != 2 || stdout != "" || !strings.Contains(stderr, c.say) {
			t.Errorf("journal %q: exit %d, stdout %q, stderr %q; want exit 2 saying %q", c.args, code, stdout, stderr, c.say)
		}
	}
}

func TestJournalClean(t *testing.T) {
	root := jtRoot(t)
	code, stdout, _ := jtRun(t, "check", root)
	if code != 0 || stdout != "no journal: the data root was stopped cleanly\n" {
		t.Errorf("check: exit %d, %q", code, stdout)
	}
	code, stdout, _ = jtRun(t, "truncate", root)
	if code != 0 || !strings.Contains(stdout, "nothing to truncate") {
		t.Errorf("truncate: exit %d, %q", code, stdout)
	}
}

func TestJournalTornTail(t *testing.T) {
	root := jtRoot(t)
	const salt = 0x1122334455667788
	j := jtHeader(salt)
	j = append(j, jtBatch(salt, 1, jtRecord(1, 7, 1), jtRecord(-8, 1_023_999, 2))...)
	j = append(j, jtBatch(salt, 2, jtRecord(6, 5000, 3))...)
	end := len(j)
	j = append(j, jtBatch(salt, 3, jtRecord(2, 9, 4), jtRecord(2, 10, 5))[:40]...) // cut short by a crash
	path := filepath.Join(root, "raidakx.journal")
	jtWrite(t, path, j)

	code, stdout, _ := jtRun(t, "check", root)
	if code != 0 {
		t.Errorf("check a journal with a torn tail: exit %d, want 0", code)
	}
	jtMustContain(t, "check", stdout, path+": OK (torn tail)",
		fmt.Sprintf("%d bytes", len(j)), "good batches:     2", "records:          3",
		fmt.Sprintf("offset %d", end), "40 bytes after offset", "ignored by replay", "every journal replays")
	code, stdout, _ = jtRun(t, "truncate", root)
	if code != 0 || !strings.Contains(stdout, "no journal is corrupt") {
		t.Errorf("truncate: exit %d, %q", code, stdout)
	}
	if st, err := os.Stat(path); err != nil || st.Size() != int64(len(j)) {
		t.Errorf("truncate changed a journal that is not corrupt: %v %v", st, err)
	}
}

func TestJournalBadMagic(t *testing.T) {
	root := jtRoot(t)
	jtWrite(t, filepath.Join(root, "raidakx.journal"), append([]byte("RKXJRNL1"), make([]byte, 40)...))
	code, _, stderr := jtRun(t, "check", root)
	if code != 1 || !strings.Contains(stderr, "not a journal of this version") {
		t.Errorf("check: exit %d, %q; want 1", code, stderr)
	}
	if code, _, _ := jtRun(t, "truncate", root); code != 1 {
		t.Errorf("truncate: exit %d, want 1", code)
	}
}

// TestJournalCorruptTruncate damages batch 2 of 4: check reports it,
// OpenPageStore refuses, truncate cuts the file where batch 2 starts, and
// the store then opens and replays batch 1 only.
func TestJournalCorruptTruncate(t *testing.T) {
	root := jtRoot(t)
	const salt = 0x0123456789abcdef
	batches := [][]jtEntry{
		{jtRecord(1, 7, 0x11), jtRecord(-8, 1_023_999, 0x12), jtRecord(6, 2048+5, 0x13)},
		{jtRecord(2, 10, 0x21), jtRecord(1, 8, 0x22)},
		{jtRecord(3, 300_000, 0x31)},
		{jtRecord(1, 7, 0x41), jtRecord(4, 50, 0x42)}, // rewrites (1, 7) of batch 1
	}
	j := jtHeader(salt)
	var starts []int
	for i, b := range batches {
		starts = append(starts, len(j))
		j = append(j, jtBatch(salt, uint64(i+1), b...)...)
	}
	off2 := starts[1]
	j[off2+24+22+7] ^= 0x40 // a byte of the record of batch 2's second entry
	path := filepath.Join(root, "raidakx.journal")
	jtWrite(t, path, j)

	code, stdout, _ := jtRun(t, "check", root)
	if code != 1 {
		t.Errorf("check a corrupt journal: exit %d, want 1", code)
	}
	jtMustContain(t, "check", stdout, path+": CORRUPT",
		fmt.Sprintf("%d bytes", len(j)), "good batches:     1", "records:          3",
		fmt.Sprintf("corrupt at:       offset %d (batch 2 expected there)", off2),
		"intact after it:  2 batches",
		"raidakx journal truncate "+root)

	// The store refuses it, and leaves it as it was.
	if s, err := jtOpen(root); err == nil {
		s.Close()
		t.Fatal("OpenPageStore replayed a journal corrupt before its last batch")
	} else if corrupt := (*storage.JournalCorruptError)(nil); !errors.As(err, &corrupt) {
		t.Fatalf("OpenPageStore: %v, want a *storage.JournalCorruptError", err)
	} else if corrupt.Path != path || corrupt.Offset != int64(off2) || corrupt.Seq != 2 || corrupt.Later != 2 {
		t.Fatalf("OpenPageStore: %+v, want %s at offset %d, batch 2, 2 later", corrupt, path, off2)
	}
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, j) {
		t.Fatalf("the refused journal changed: %v", err)
	}
	if rec := jtReadRecord(t, root, 1, 7); rec != ([17]byte{}) {
		t.Fatalf("a refused journal was replayed: (1, 7) = %x", rec)
	}

	code, stdout, _ = jtRun(t, "truncate", root)
	if code != 0 {
		t.Fatalf("truncate: exit %d", code)
	}
	jtMustContain(t, "truncate", stdout, fmt.Sprintf("cut %s at offset %d", path, off2),
		"1 good batch (3 records)", fmt.Sprintf("dropped: %d bytes", len(j)-off2), "2 intact batches",
		"the next raidakx serve replays the rest")
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, j[:off2]) {
		t.Fatalf("after truncate the journal has %d bytes (%v), want its first %d", len(got), err, off2)
	}
	if code, stdout, _ := jtRun(t, "check", root); code != 0 || !strings.Contains(stdout, path+": OK\n") {
		t.Errorf("check after truncate: exit %d, want 0 and OK", code)
	}

	s, err := jtOpen(root)
	if err != nil {
		t.Fatalf("OpenPageStore after truncate: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, e := range batches[0] {
		if got := jtReadRecord(t, root, e.den, e.sn); got != e.rec {
			t.Errorf("record (%d, %d) of batch 1 = %x, want %x", e.den, e.sn, got, e.rec)
		}
	}
	for _, b := range batches[1:] {
		for _, e := range b {
			if e.den == 1 && e.sn == 7 {
				continue
			}
			if got := jtReadRecord(t, root, e.den, e.sn); got != ([17]byte{}) {
				t.Errorf("record (%d, %d) of a dropped batch = %x, want zeros", e.den, e.sn, got)
			}
		}
	}
	for _, name := range []string{"raidakx.journal", "raidakx.journal.old"} {
		if _, err := os.Stat(filepath.Join(root, name)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s after Close: %v", name, err)
		}
	}
	if code, stdout, _ := jtRun(t, "check", root); code != 0 || !strings.Contains(stdout, "no journal") {
		t.Errorf("check after the store closed: exit %d, %q", code, stdout)
	}
}

// TestJournalOldCorrupt: a checkpoint left raidakx.journal.old, corrupt,
// beside a good raidakx.journal. check shows both, truncate cuts only the
// old one, and replay applies the old journal, then the new.
func TestJournalOldCorrupt(t *testing.T) {
	root := jtRoot(t)
	const oldSalt, newSalt = 0xaaaa, 0xbbbb
	old := jtHeader(oldSalt)
	old = append(old, jtBatch(oldSalt, 1, jtRecord(5, 1, 0x51), jtRecord(5, 2, 0x52))...)
	off := len(old)
	bad := jtBatch(oldSalt, 2, jtRecord(5, 3, 0x53))
	bad[8] = 7 // a seq that does not follow (the CRC no longer holds either)
	old = append(old, bad...)
	old = append(old, jtBatch(oldSalt, 3, jtRecord(5, 4, 0x54))...)
	cur := jtHeader(newSalt)
	cur = append(cur, jtBatch(newSalt, 1, jtRecord(5, 2, 0x62))...)
	oldPath, curPath := filepath.Join(root, "raidakx.journal.old"), filepath.Join(root, "raidakx.journal")
	jtWrite(t, oldPath, old)
	jtWrite(t, curPath, cur)

	code, stdout, _ := jtRun(t, "check", root)
	if code != 1 {
		t.Errorf("check: exit %d, want 1", code)
	}
	jtMustContain(t, "check", stdout, oldPath+": CORRUPT", fmt.Sprintf("corrupt at:       offset %d (batch 2 expected there)", off), "intact after it:  1 batch,", curPath+": OK")
	if code, _, _ := jtRun(t, "truncate", root); code != 0 {
		t.Fatalf("truncate: exit %d", code)
	}
	if st, err := os.Stat(oldPath); err != nil || st.Size() != int64(off) {
		t.Fatalf("old journal after truncate: %v %v, want %d bytes", st, err, off)
	}
	if got, err := os.ReadFile(curPath); err != nil || !bytes.Equal(got, cur) {
		t.Fatalf("truncate changed the good journal: %v", err)
	}
	s, err := jtOpen(root)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, e := range []jtEntry{jtRecord(5, 1, 0x51), jtRecord(5, 2, 0x62), {den: 5, sn: 3}, {den: 5, sn: 4}} {
		if got := jtReadRecord(t, root, e.den, e.sn); got != e.rec {
			t.Errorf("record (%d, %d) = %x, want %x", e.den, e.sn, got, e.rec)
		}
	}
}
