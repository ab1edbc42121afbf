package storage

import (
	"fmt"
	"io/fs"
	"maps"
	"sync"

	"github.com/raidakx/raidakx/abi"
)

// MemRecords is an in-memory coin database. Records never written read as
// all zero. It is safe for concurrent use.
type MemRecords struct {
	mu      sync.Mutex
	records map[RecordKey]Record
	locks   map[PageKey]*sync.Mutex
}

// NewMemRecords returns a database holding records.
func NewMemRecords(records map[RecordKey]Record) *MemRecords {
	m := &MemRecords{records: maps.Clone(records), locks: map[PageKey]*sync.Mutex{}}
	if m.records == nil {
		m.records = map[RecordKey]Record{}
	}
	return m
}

// Lock implements Records.
func (m *MemRecords) Lock(den int8, page uint32) error {
	if err := checkPage(den, page); err != nil {
		return err
	}
	m.mu.Lock()
	l, ok := m.locks[PageKey{den, page}]
	if !ok {
		l = new(sync.Mutex)
		m.locks[PageKey{den, page}] = l
	}
	m.mu.Unlock()
	l.Lock()
	return nil
}

// Unlock implements Records.
func (m *MemRecords) Unlock(den int8, page uint32) {
	m.mu.Lock()
	l := m.locks[PageKey{den, page}]
	m.mu.Unlock()
	l.Unlock()
}

// Read implements Records. Every write is durable at once, so nothing is
// ever pending.
func (m *MemRecords) Read(den int8, sn uint32, rec *Record) (bool, error) {
	if !abi.RecordExists(den, sn) {
		return false, ErrNoRecord
	}
	m.mu.Lock()
	*rec = m.records[RecordKey{den, sn}]
	m.mu.Unlock()
	return false, nil
}

// Write implements Records.
func (m *MemRecords) Write(den int8, sn uint32, rec *Record) error {
	if !abi.RecordExists(den, sn) {
		return ErrNoRecord
	}
	m.mu.Lock()
	m.records[RecordKey{den, sn}] = *rec
	m.mu.Unlock()
	return nil
}

// Snapshot returns a copy of every record ever written or given.
func (m *MemRecords) Snapshot() map[RecordKey]Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.records)
}

// MemFiles is an in-memory Files keyed by "coins/NAME" and "Keys/NAME". It
// is safe for concurrent use.
type MemFiles struct {
	mu    sync.Mutex
	files map[string][]byte
}

// NewMemFiles returns a Files holding files (keys as above).
func NewMemFiles(files map[string][]byte) *MemFiles {
	f := &MemFiles{files: map[string][]byte{}}
	for k, v := range files {
		f.files[k] = append([]byte(nil), v...)
	}
	return f
}

// ReadFile implements Files.
func (f *MemFiles) ReadFile(dir abi.Dir, name string, dst []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	data, ok := f.files[dir.String()+"/"+name]
	if !ok {
		return 0, fmt.Errorf("%s/%s: %w", dir, name, fs.ErrNotExist)
	}
	return copy(dst, data), nil
}

// WriteFile implements Files.
func (f *MemFiles) WriteFile(dir abi.Dir, name string, data []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.files[dir.String()+"/"+name] = append([]byte(nil), data...)
	return nil
}

// Snapshot returns a copy of every file.
func (f *MemFiles) Snapshot() map[string][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string][]byte, len(f.files))
	for k, v := range f.files {
		out[k] = append([]byte(nil), v...)
	}
	return out
}
