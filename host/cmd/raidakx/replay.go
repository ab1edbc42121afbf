package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/raidakx/raidakx/host/engine"
	"github.com/raidakx/raidakx/host/engines"
	"github.com/raidakx/raidakx/testvectors/replay"
)

func runReplay(args []string) int {
	fs := newFlagSet("replay", "raidakx replay [flags] FILE_OR_DIR...",
		"Replays test vector files (or every .json file of a folder) against the module.",
		"raidakx replay testvectors",
		"raidakx replay -engine wazero-interp -wasm build/keyexchange.wasm -v testvectors/commands.json")
	engineName := fs.String("engine", engines.Default, "engine: "+strings.Join(engines.Names(), ", "))
	wasmPath := fs.String("wasm", defaultWasm(), "module file")
	verbose := fs.Bool("v", false, "print every vector's name and the module's log")
	pos, code, ok := fs.parse(args)
	if !ok {
		return code
	}
	if len(pos) == 0 {
		return fs.fail("no vector file or folder")
	}
	vectors, err := replay.Load(pos...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "raidakx replay:", err)
		return 1
	}
	logOut := io.Discard
	if *verbose {
		logOut = os.Stderr
	}
	logger := slog.New(slog.NewTextHandler(logOut, nil))
	mod, err := engines.Load(context.Background(), *engineName, *wasmPath, engine.Options{}, logger)
	if err != nil {
		fmt.Fprintln(os.Stderr, "raidakx replay:", err)
		return 1
	}
	defer mod.Close()
	failed := 0
	for i := range vectors {
		v := &vectors[i]
		if err := replay.Run(mod, v, logger); err != nil {
			failed++
			fmt.Printf("FAIL %s: %s\n", v.Name, strings.ReplaceAll(err.Error(), "\n", "\n    "))
		} else if *verbose {
			fmt.Printf("ok   %s\n", v.Name)
		}
	}
	fmt.Printf("%d passed, %d failed\n", len(vectors)-failed, failed)
	if failed > 0 {
		return 1
	}
	return 0
}
