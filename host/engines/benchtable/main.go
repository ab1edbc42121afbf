// Command benchtable reads `go test -bench` output of the engines
// benchmarks on stdin and prints ns/op per engine with the ratio to the
// native engine, one row per benchmark.
package main

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// BenchmarkRequest/wazero/44-2   123   4567 ns/op   0 B/op   0 allocs/op
var line = regexp.MustCompile(`^Benchmark(\w+)/([\w-]+?)(?:/(\w+))?(?:-\d+)?\s+\d+\s+([\d.]+) ns/op(?:\s+(\d+) B/op\s+(\d+) allocs/op)?`)

type cell struct {
	ns     float64
	allocs string
}

func main() {
	rows := map[string]map[string]cell{}
	var order, engines []string
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		bench, engine, sub := m[1], m[2], m[3]
		ns, _ := strconv.ParseFloat(m[4], 64)
		row := bench
		if sub != "" {
			row += " " + sub
		}
		if rows[row] == nil {
			rows[row] = map[string]cell{}
			order = append(order, row)
		}
		rows[row][engine] = cell{ns, m[6]}
		if !slices.Contains(engines, engine) {
			engines = append(engines, engine)
		}
	}
	fmt.Printf("%-20s", "benchmark")
	for _, e := range engines {
		fmt.Printf(" %24s", e+" ns/op (x native)")
	}
	fmt.Println()
	for _, row := range order {
		fmt.Printf("%-20s", row)
		native, hasNative := rows[row]["native"]
		for _, e := range engines {
			c, ok := rows[row][e]
			if !ok {
				fmt.Printf(" %24s", "-")
				continue
			}
			s := fmtNS(c.ns)
			if hasNative && native.ns > 0 {
				s += fmt.Sprintf(" (%.1fx)", c.ns/native.ns)
			}
			if c.allocs != "" {
				s += " " + c.allocs + "a"
			}
			fmt.Printf(" %24s", s)
		}
		fmt.Println()
	}
	fmt.Println(strings.Repeat("-", 20), "a = allocations per op")
}

func fmtNS(ns float64) string {
	switch {
	case ns >= 1e6:
		return fmt.Sprintf("%.2fms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.1fµs", ns/1e3)
	}
	return fmt.Sprintf("%.0fns", ns)
}
