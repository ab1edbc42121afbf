package wazero

import "github.com/raidakx/raidakx/host/engine"

// Memory returns the linear memory of inst, an instance of this engine, as
// the runtime holds it, so that a test can read what an import was given
// without going through the import.
func Memory(inst engine.Instance) []byte {
	m := inst.(*Instance).mem
	b, _ := m.Read(0, m.Size())
	return b
}
