//go:build cgo

package wasmtime

import (
	"fmt"
	"log/slog"
	"os"
	"runtime"
)

// stderrSink sends what the module's Go runtime prints on stderr (a
// panic's trace) to the log, like the wazero engine does. wasmtime-go can
// only point a store's stderr at a file by name, so the sink is a pipe
// named through /dev/fd: every store of the module opens its write end
// and one goroutine logs what comes out. Where /dev/fd cannot be opened,
// Path is empty and stderr goes nowhere.
type stderrSink struct {
	w    *os.File // kept open so that the path stays valid
	path string
}

func newStderrSink(logger *slog.Logger) *stderrSink {
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" && runtime.GOOS != "freebsd" {
		return nil
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil
	}
	path := fmt.Sprintf("/dev/fd/%d", w.Fd())
	if _, err := os.Stat(path); err != nil {
		r.Close()
		w.Close()
		return nil
	}
	go func() {
		defer r.Close()
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				logger.Warn("module stderr", "text", string(buf[:n]))
			}
			if err != nil {
				return
			}
		}
	}()
	return &stderrSink{w: w, path: path}
}

// Path names the pipe's write end, or is "" when there is none.
func (s *stderrSink) Path() string {
	if s == nil {
		return ""
	}
	return s.path
}

// Close closes the sink's own write end. The logging goroutine ends once
// every store that opened the pipe is closed too.
func (s *stderrSink) Close() {
	if s != nil {
		s.w.Close()
	}
}
