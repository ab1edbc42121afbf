package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/raidakx/raidakx/host/storage"
)

const journalAbout = `DIR is a data root (the folder of its config.toml). Run these only while
raidakx serve is stopped.

  check     show each journal file (raidakx.journal, raidakx.journal.old):
            what the next raidakx serve replays and any corruption; exits 0
            when every journal replays, 1 when one is corrupt or unreadable
  truncate  cut each corrupt journal at its first bad batch, dropping the
            intact batches after it, so that raidakx serve replays the rest
`

// journalFiles are the names of the journal files in a data root, in the
// order replay reads them (host/storage/journal.go).
var journalFiles = []string{"raidakx.journal.old", "raidakx.journal"}

func runJournal(args []string) int { return journalMain(args, os.Stdout, os.Stderr) }

// journalMain runs raidakx journal with args (after "journal"), writing
// its report to stdout and errors to stderr, and returns the exit code.
func journalMain(args []string, stdout, stderr io.Writer) int {
	fset := newFlagSet("journal", "raidakx journal check DIR\n       raidakx journal truncate DIR", journalAbout,
		"raidakx journal check /srv/raida14", "raidakx journal truncate /srv/raida14")
	fset.setOutput(stdout, stderr)
	pos, code, ok := fset.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 2 || (pos[0] != "check" && pos[0] != "truncate") {
		if len(pos) > 0 && pos[0] != "check" && pos[0] != "truncate" {
			return fset.fail("unknown action %q", pos[0])
		}
		return fset.fail("want an action and a data root")
	}
	action, dir := pos[0], pos[1]
	if code := checkDataRoot(dir, stderr); code != 0 {
		return code
	}
	if action == "check" {
		return journalCheck(dir, stdout, stderr)
	}
	return journalTruncate(dir, stdout, stderr)
}

// checkDataRoot reports (exit code 2, or 1 when it cannot be read) a DIR
// that is not a data root: missing, not a folder, or with neither a Data
// folder nor a journal.
func checkDataRoot(dir string, stderr io.Writer) int {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		fmt.Fprintf(stderr, "raidakx journal: data root %s does not exist\n", dir)
		return 2
	case err != nil:
		fmt.Fprintf(stderr, "raidakx journal: %v\n", err)
		return 1
	case !fi.IsDir():
		fmt.Fprintf(stderr, "raidakx journal: %s is not a folder: give the data root, the folder of config.toml\n", dir)
		return 2
	}
	if fi, err := os.Stat(filepath.Join(dir, "Data")); err == nil && fi.IsDir() {
		return 0
	}
	for _, name := range journalFiles {
		if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
			return 0
		}
	}
	fmt.Fprintf(stderr, "raidakx journal: %s is not a data root: it has no Data folder and no journal\n", dir)
	return 2
}

// journalCheck prints one block per journal file of dir.
func journalCheck(dir string, stdout, stderr io.Writer) int {
	scans, err := storage.CheckJournal(dir)
	if len(scans) == 0 && err == nil {
		fmt.Fprintln(stdout, "no journal: the data root was stopped cleanly")
		return 0
	}
	var batches, records, corrupt int
	for i, sc := range scans {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		printScan(stdout, sc, dir)
		if sc.Corrupt != nil {
			corrupt++
		} else {
			batches += sc.Batches
			records += sc.Records
		}
	}
	if err != nil {
		if len(scans) > 0 {
			fmt.Fprintln(stdout)
		}
		fmt.Fprintf(stderr, "raidakx journal check: %v\n", err)
		fmt.Fprintln(stdout, "a journal cannot be read: raidakx serve will not start on this data root until it can")
		return 1
	}
	fmt.Fprintln(stdout)
	if corrupt > 0 {
		fmt.Fprintln(stdout, "raidakx serve refuses to start on this data root until the corrupt journal is cut with the truncate command above")
		return 1
	}
	fmt.Fprintf(stdout, "every journal replays: the next raidakx serve writes %s (%s) into the page files\n",
		plural(batches, "batch", "batches"), plural(records, "record", "records"))
	return 0
}

// printScan prints what scanning one journal file found.
func printScan(w io.Writer, sc *storage.JournalScan, dir string) {
	status := "OK"
	switch {
	case sc.Corrupt != nil:
		status = "CORRUPT"
	case sc.Empty:
		status = "OK (empty)"
	case sc.Torn > 0:
		status = "OK (torn tail)"
	}
	fmt.Fprintf(w, "%s: %s\n", sc.Path, status)
	line := func(label, format string, args ...any) {
		fmt.Fprintf(w, "  %-17s %s\n", label+":", fmt.Sprintf(format, args...))
	}
	line("size", "%d bytes", sc.Size)
	if sc.Empty {
		line("content", "none: a crash while the file was created; nothing to replay")
		return
	}
	line("good batches", "%d", sc.Batches)
	line("records", "%d", sc.Records)
	line("last good end", "offset %d", sc.End)
	if sc.Corrupt == nil {
		if sc.Torn > 0 {
			line("torn tail", "%d bytes after offset %d: an append cut short by a crash, ignored by replay", sc.Torn, sc.End)
		} else {
			line("torn tail", "none")
		}
		return
	}
	c := sc.Corrupt
	line("torn tail", "none: the %d bytes after offset %d are not a torn tail", sc.Size-c.Offset, c.Offset)
	line("corrupt at", "offset %d (batch %d expected there)", c.Offset, c.Seq)
	line("intact after it", "%s, acknowledged changes that replay would lose", plural(c.Later, "batch", "batches"))
	fmt.Fprintf(w, "  replay refuses this journal. To keep the %s before offset %d and drop the rest\n  (keep a copy of the file first if you want to inspect it):\n    raidakx journal truncate %s\n",
		plural(sc.Batches, "good batch", "good batches"), c.Offset, shellQuote(dir))
}

// journalTruncate cuts the corrupt journals of dir.
func journalTruncate(dir string, stdout, stderr io.Writer) int {
	cut, err := storage.TruncateJournal(dir)
	for _, sc := range cut {
		c := sc.Corrupt
		fmt.Fprintf(stdout, "cut %s at offset %d (it was %d bytes)\n", sc.Path, c.Offset, sc.Size)
		fmt.Fprintf(stdout, "  kept:    %s (%s), replayed by the next raidakx serve\n",
			plural(sc.Batches, "good batch", "good batches"), plural(sc.Records, "record", "records"))
		fmt.Fprintf(stdout, "  dropped: %d bytes: damaged batch %d and %s after it; their changes are lost\n",
			sc.Size-c.Offset, c.Seq, plural(c.Later, "intact batch", "intact batches"))
	}
	if err != nil {
		fmt.Fprintf(stderr, "raidakx journal truncate: %v\n", err)
		return 1
	}
	if len(cut) == 0 {
		if scans, _ := storage.CheckJournal(dir); len(scans) == 0 {
			fmt.Fprintln(stdout, "nothing to truncate: no journal (the data root was stopped cleanly)")
		} else {
			fmt.Fprintln(stdout, "nothing to truncate: no journal is corrupt")
		}
		return 0
	}
	// What is left must now replay.
	scans, err := storage.CheckJournal(dir)
	if err != nil {
		fmt.Fprintf(stderr, "raidakx journal truncate: after the cut: %v\n", err)
		return 1
	}
	for _, sc := range scans {
		if sc.Corrupt != nil {
			fmt.Fprintf(stderr, "raidakx journal truncate: after the cut: %v\n", sc.Corrupt)
			return 1
		}
	}
	fmt.Fprintln(stdout, "the next raidakx serve replays the rest of the journal into the page files")
	return 0
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
