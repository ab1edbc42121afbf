package abi

// Errno is the i32 an import returns: 0 for success (file_read returns the
// byte count instead), a negative value for an error the module is expected
// to handle. Misuse that only a broken module commits traps instead (see
// ABI.md).
type Errno int32

// The errors an import can return.
const (
	OK           Errno = 0
	ErrNotFound  Errno = -1 // the file does not exist
	ErrIO        Errno = -2 // the host's storage failed; retrying may work
	ErrNoRecord  Errno = -3 // den or sn out of range: no such record or page
	ErrNoRandom  Errno = -4 // the random source failed or is exhausted
	ErrTooLarge  Errno = -5 // file_write data longer than MaxFileWrite
	ErrBadName   Errno = -6 // a file name that is not a plain name
	ErrDenied    Errno = -7 // write to a read-only folder
	ErrBadConfig Errno = -8 // raidakx_configure: value out of range
	ErrNoSpace   Errno = -9 // the host's disk is full
)

var errnoNames = map[Errno]string{
	OK:           "ok",
	ErrNotFound:  "not found",
	ErrIO:        "i/o error",
	ErrNoRecord:  "no such record",
	ErrNoRandom:  "no random bytes",
	ErrTooLarge:  "too large",
	ErrBadName:   "bad file name",
	ErrDenied:    "denied",
	ErrBadConfig: "bad configuration",
	ErrNoSpace:   "no space left",
}

// Error returns the errno's description.
func (e Errno) Error() string {
	if s, ok := errnoNames[e]; ok {
		return s
	}
	return "unknown errno"
}
