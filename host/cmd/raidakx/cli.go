package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

// flagSet is a subcommand's flags with the text its -h prints: synopsis,
// about, the flags and examples. Every subcommand parses with it, so that
// all follow one convention (issue 14).
type flagSet struct {
	*flag.FlagSet
	synopsis string   // e.g. "raidakx init [flags] DIR"
	about    string   // optional paragraphs after the synopsis
	examples []string // command lines; together they use every flag
	stdout   io.Writer
	stderr   io.Writer
}

// newFlagSet returns the flags of subcommand name (e.g. "net init").
func newFlagSet(name, synopsis, about string, examples ...string) *flagSet {
	f := &flagSet{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), synopsis: synopsis, about: about,
		examples: examples, stdout: os.Stdout, stderr: os.Stderr}
	f.SetOutput(os.Stderr)
	f.Usage = func() {} // parse prints the usage itself, to stdout for -h
	return f
}

// setOutput sends -h to stdout and errors to stderr.
func (f *flagSet) setOutput(stdout, stderr io.Writer) {
	f.stdout, f.stderr = stdout, stderr
	f.SetOutput(stderr)
}

// printUsage writes the -h text to w.
func (f *flagSet) printUsage(w io.Writer) {
	fmt.Fprintf(w, "usage: %s\n", f.synopsis)
	if f.about != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(f.about))
	}
	hasFlags := false
	f.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		fmt.Fprintln(w, "\nflags (before or after the arguments):")
		f.SetOutput(w)
		f.PrintDefaults()
		f.SetOutput(f.stderr)
	}
	if len(f.examples) > 0 {
		fmt.Fprintln(w, "\nexamples:")
		for _, e := range f.examples {
			fmt.Fprintf(w, "  %s\n", e)
		}
	}
}

// negativeNumber matches an argument that is a number, such as the
// denomination -1, never a flag.
var negativeNumber = regexp.MustCompile(`^-[0-9]`)

// parse parses args, whose flags may come before, between and after the
// positional arguments (raidakx init /srv/raida14 -raida-id 14), and
// returns the positional arguments with ok set. "--" ends the flags, and
// an argument such as -1 is positional unless it is a flag's value. With
// -h (or -help) it prints the usage to stdout and returns code 0; with a
// bad flag, the error and the synopsis to stderr and code 2; ok is then
// false.
func (f *flagSet) parse(args []string) (pos []string, code int, ok bool) {
	for len(args) > 0 {
		if negativeNumber.MatchString(args[0]) {
			pos, args = append(pos, args[0]), args[1:]
			continue
		}
		k := f.flagsEnd(args)
		err := f.Parse(args[:k])
		if errors.Is(err, flag.ErrHelp) {
			f.printUsage(f.stdout)
			return nil, 0, false
		}
		if err != nil {
			return nil, f.fail(""), false
		}
		rest := f.Args()
		if used := k - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), 0, true // flagsEnd stopped at the end
		}
		if len(rest) > 0 {
			pos = append(pos, rest[0])
			rest = rest[1:]
		}
		args = append(append([]string(nil), rest...), args[k:]...)
	}
	return pos, 0, true
}

// flagsEnd returns how many of args Parse may see: all of them, or up
// to the first negative number that is not a flag's value, which Parse
// would take for a flag.
func (f *flagSet) flagsEnd(args []string) int {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return len(args)
		case negativeNumber.MatchString(a):
			return i
		case strings.HasPrefix(a, "-") && !strings.Contains(a, "="):
			if fl := f.Lookup(strings.TrimLeft(a, "-")); fl != nil {
				if b, ok := fl.Value.(interface{ IsBoolFlag() bool }); !ok || !b.IsBoolFlag() {
					i++ // its value, which may be negative
				}
			}
		}
	}
	return len(args)
}

// fail prints a usage error (when msg is not empty) and the synopsis to
// stderr and returns exit code 2.
func (f *flagSet) fail(msg string, args ...any) int {
	if msg != "" {
		fmt.Fprintf(f.stderr, "raidakx %s: %s\n", f.Name(), fmt.Sprintf(msg, args...))
	}
	fmt.Fprintf(f.stderr, "usage: %s\n(raidakx %s -h shows the flags and examples)\n", f.synopsis, f.Name())
	return 2
}
