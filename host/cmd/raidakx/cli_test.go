package main

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// TestMain runs main instead of the tests when RAIDAKX_RUN_MAIN is set:
// runMain starts this test binary that way, to see raidakx's exit codes
// and output as a user does.
func TestMain(m *testing.M) {
	if os.Getenv("RAIDAKX_RUN_MAIN") == "1" {
		main()
	}
	os.Exit(m.Run())
}

// runMain runs raidakx with args and returns its exit code and output.
func runMain(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "RAIDAKX_RUN_MAIN=1", "XDG_CACHE_HOME="+t.TempDir())
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
}

// moduleFile is the module make build writes.
var moduleFile = filepath.Join("..", "..", "..", "build", "keyexchange.wasm")

// helpCommands are every subcommand that takes -h, as typed after raidakx.
var helpCommands = [][]string{
	{"serve"}, {"init"}, {"client"}, {"load"}, {"journal"}, {"replay"},
	{"net"}, {"net", "init"}, {"net", "serve"}, {"version"},
}

func TestHelpExitsZero(t *testing.T) {
	cases := []struct {
		args []string
		say  string
	}{
		{[]string{"-h"}, "usage: raidakx COMMAND"},
		{[]string{"--help"}, "usage: raidakx COMMAND"},
		{[]string{"help"}, "usage: raidakx COMMAND"},
		{[]string{"help", "init"}, "usage: raidakx init [flags] DIR"},
		{[]string{"help", "net"}, "usage: raidakx net init|serve DIR"},
		{[]string{"help", "client"}, "exchange -to T -via A,B DEN SN"},
	}
	for _, c := range helpCommands {
		cases = append(cases, struct {
			args []string
			say  string
		}{append(append([]string(nil), c...), "-h"), "usage: raidakx " + strings.Join(c, " ")})
	}
	for _, c := range cases {
		code, stdout, stderr := runMain(t, c.args...)
		if code != 0 || !strings.Contains(stdout, c.say) {
			t.Errorf("raidakx %q: exit %d, stdout %q, stderr %q; want exit 0 and usage saying %q on stdout", c.args, code, stdout, stderr, c.say)
		}
	}
	for _, args := range [][]string{{"help", "nope"}, {"nope"}, {}} {
		if code, _, stderr := runMain(t, args...); code != 2 || !strings.Contains(stderr, "usage: raidakx COMMAND") {
			t.Errorf("raidakx %q: exit %d, stderr %q; want 2 and the usage", args, code, stderr)
		}
	}
}

// flagLine is a flag in PrintDefaults' output.
var flagLine = regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`)

// TestEveryFlagHasAnExample checks that each subcommand's -h lists flags
// and examples, and that the examples use every flag listed.
func TestEveryFlagHasAnExample(t *testing.T) {
	for _, c := range helpCommands {
		_, stdout, _ := runMain(t, append(append([]string(nil), c...), "-h")...)
		flagsText, examples, ok := strings.Cut(stdout, "\nexamples:\n")
		if !ok || !strings.Contains(examples, "raidakx "+strings.Join(c, " ")) {
			t.Errorf("raidakx %s -h has no example of itself:\n%s", strings.Join(c, " "), stdout)
			continue
		}
		for _, m := range flagLine.FindAllStringSubmatch(flagsText, -1) {
			if !regexp.MustCompile(`(^|\s)-` + regexp.QuoteMeta(m[1]) + `(\s|$)`).MatchString(examples) {
				t.Errorf("raidakx %s -h: no example uses -%s", strings.Join(c, " "), m[1])
			}
		}
	}
}

func TestFlagsAfterArguments(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "raida14")
	code, stdout, stderr := runMain(t, "init", dir, "-raida-id", "14", "-port", "18014")
	if code != 0 {
		t.Fatalf("init DIR -raida-id 14: exit %d: %s%s", code, stdout, stderr)
	}
	cfg, err := os.ReadFile(filepath.Join(dir, "config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"raida_id = 14 ", "port = 18014 "} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("config.toml lacks %q:\n%s", want, cfg)
		}
	}
	// Flags between arguments, and "--" ending them.
	code, _, stderr = runMain(t, "replay", "-engine", "nope", "--", "-x")
	if code != 1 || !strings.Contains(stderr, "-x") {
		t.Errorf("replay -engine nope -- -x: exit %d, %q; want 1 reading vector file -x", code, stderr)
	}
	if code, _, stderr := runMain(t, "init", dir, "-nope"); code != 2 || !strings.Contains(stderr, "flag provided but not defined: -nope") {
		t.Errorf("init DIR -nope: exit %d, %q; want 2 naming the flag", code, stderr)
	}
}

func TestVersion(t *testing.T) {
	wasm, err := os.ReadFile(moduleFile)
	if err != nil {
		t.Fatalf("%v: run make build first", err)
	}
	code, stdout, stderr := runMain(t, "version", "-wasm", moduleFile)
	if code != 0 {
		t.Fatalf("version: exit %d: %s", code, stderr)
	}
	bi, _ := debug.ReadBuildInfo()
	want := []string{fmt.Sprintf("%x", sha256.Sum256(wasm)), "abi        v2 (the module's", runtime.Version()}
	for _, d := range bi.Deps {
		if d.Path == "github.com/tetratelabs/wazero" || strings.HasPrefix(d.Path, "github.com/bytecodealliance/wasmtime-go") {
			want = append(want, d.Version)
		}
	}
	if len(want) < 5 {
		t.Errorf("this test binary links %d of wazero and wasmtime-go", len(want)-3)
	}
	for _, w := range want {
		if !strings.Contains(stdout, w) {
			t.Errorf("version does not say %q:\n%s", w, stdout)
		}
	}
	if code, _, _ := runMain(t, "version", "-wasm", filepath.Join(t.TempDir(), "none.wasm")); code != 1 {
		t.Errorf("version with a missing module: exit %d, want 1", code)
	}
}

// TestNetClientBadInput runs raidakx client -net on a network that no
// process serves: every bad input exits 2 naming the problem, and the
// wallet stays as it was.
func TestNetClientBadInput(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "net")
	if code, stdout, stderr := runMain(t, "net", "init", dir, "-nodes", "4", "-port", "1", "-coins", "3"); code != 0 {
		t.Fatalf("net init: exit %d: %s%s", code, stdout, stderr)
	}
	wallet, err := os.ReadFile(filepath.Join(dir, "wallet", "01.2.bin"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		say  string
	}{
		{[]string{"-net", filepath.Join(dir, "nope"), "echo"}, "is not a network folder"},
		{[]string{"-net", dir, "exchange", "-to", "9", "-via", "1,2", "1", "2"}, "no RAIDA 9"},
		{[]string{"-net", dir, "exchange", "-to", "3", "-via", "1,1", "1", "2"}, "-via 1,1"},
		{[]string{"-net", dir, "exchange", "-to", "2", "-via", "1,2", "1", "2"}, "-to 2 is also in -via"},
		{[]string{"-net", dir, "exchange", "-to", "3", "-via", "1,2", "1", "7"}, "coin 1.7 is not a test coin"},
		{[]string{"-net", dir, "exchange", "-to", "3", "-via", "1,2", "-1", "2"}, "coin -1.2 is not a test coin"},
		{[]string{"-net", dir, "exchange", "-to", "3", "-via", "1,2", "1", "2"}, "RAIDA 1 (127.0.0.1:2) is down"},
		{[]string{"-net", dir, "exchange", "-via", "1,2", "1", "2"}, "want -to T and -via A,B"},
		{[]string{"-net", "udp", "echo"}, "the transport flag is -transport udp"},
		{[]string{"-to", "3", "echo"}, "-to and -via are for -net DIR exchange"},
	} {
		code, _, stderr := runMain(t, append([]string{"client", "-timeout", "200ms"}, c.args...)...)
		if code != 2 || !strings.Contains(stderr, c.say) {
			t.Errorf("client %q: exit %d, stderr %q; want 2 saying %q", c.args, code, stderr, c.say)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "wallet", "01.2.bin")); !bytes.Equal(got, wallet) {
		t.Error("a refused exchange changed the wallet")
	}
	if code, stdout, _ := runMain(t, "client", "-net", dir, "-timeout", "200ms", "echo"); code != 1 || !strings.Contains(stdout, "0 of 4 nodes answered") {
		t.Errorf("echo to a network nobody serves: exit %d, %q; want 1 and 0 of 4", code, stdout)
	}
}
