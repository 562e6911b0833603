// Command tstep is a step binary for the runner's tests: it runs a list of
// actions given as arguments, so a fixture Task can write results, sleep,
// fail or record when it ran without a shell.
//
//	tstep --results-dir DIR result NAME VALUE | env NAME VAR | pwd NAME |
//	      cat NAME FILE | write FILE TEXT | stamp FILE | sleep DUR | exit CODE |
//	      now NAME | echo TEXT | join NAME ARGS...
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

func main() {
	args := os.Args[1:]
	dir := ""
	need := func(n int) []string {
		if len(args) < n+1 {
			fmt.Fprintf(os.Stderr, "tstep: %s needs %d arguments\n", args[0], n)
			os.Exit(2)
		}
		a := args[1 : n+1]
		args = args[n+1:]
		return a
	}
	writeResult := func(name, value string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(value), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "tstep:", err)
			os.Exit(2)
		}
	}
	for len(args) > 0 {
		switch args[0] {
		case "--results-dir":
			dir = need(1)[0]
		case "result":
			a := need(2)
			writeResult(a[0], a[1])
		case "env":
			a := need(2)
			writeResult(a[0], os.Getenv(a[1]))
		case "pwd":
			a := need(1)
			wd, _ := os.Getwd()
			writeResult(a[0], wd)
		case "cat":
			a := need(2)
			b, err := os.ReadFile(a[1])
			if err != nil {
				fmt.Fprintln(os.Stderr, "tstep:", err)
				os.Exit(2)
			}
			writeResult(a[0], string(b))
		case "write":
			a := need(2)
			if err := os.WriteFile(a[0], []byte(a[1]), 0o644); err != nil {
				fmt.Fprintln(os.Stderr, "tstep:", err)
				os.Exit(2)
			}
		case "stamp":
			a := need(1)
			f, err := os.OpenFile(a[0], os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				fmt.Fprintln(os.Stderr, "tstep:", err)
				os.Exit(2)
			}
			fmt.Fprintln(f, time.Now().UnixNano())
			f.Close()
		case "sleep":
			d, err := time.ParseDuration(need(1)[0])
			if err != nil {
				os.Exit(2)
			}
			time.Sleep(d)
		case "now":
			writeResult(need(1)[0], strconv.FormatInt(time.Now().UnixNano(), 10))
		case "join":
			// join NAME ARGS...: every remaining argument, comma-joined.
			name := need(1)[0]
			writeResult(name, strings.Join(args, ","))
			args = nil
		case "echo":
			fmt.Println(need(1)[0])
		case "exit":
			code, _ := strconv.Atoi(need(1)[0])
			fmt.Fprintf(os.Stderr, "tstep: exiting with %d\n", code)
			os.Exit(code)
		default:
			fmt.Fprintf(os.Stderr, "tstep: unknown action %q\n", args[0])
			os.Exit(2)
		}
	}
}
