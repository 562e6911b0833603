// Package stepcli is the shared wiring of trustline's command-line
// programs: the --results-dir flag every step has, and the mapping from a
// returned error to the project's exit codes (0 done, 1 the check said no,
// 2 an error prevented an answer). Mains stay thin: they build a cli.App
// and hand it to Main.
//
// Every step has the same shape: steps/<name>/main.go is a few lines that
// pass newApp() (and os.Getenv, where the step reads the environment) to
// Main, and steps/<name>/app.go, in package main, holds the cli.App: the
// flags, their mapping to the options of the step's library under
// internal/, the results and the output. The App writes only to its
// Writer and ErrWriter, so that tests run it in process with stepcli.Run.
// This layout was chosen over an App per internal package because five of
// the seven steps already had it (two moved: scan's from
// internal/scan/step, verify-policy's from internal/verify/command), and
// because a step's command line is wiring, not a library: nothing but the
// step and its tests calls it, and the work it wires stays in packages
// any test can call.
package stepcli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/trustline-dev/trustline/internal/exitcode"
	"github.com/trustline-dev/trustline/internal/results"
)

// ResultsDirFlag is the --results-dir flag, defaulting to Tekton's
// /tekton/results.
func ResultsDirFlag() *cli.StringFlag {
	return &cli.StringFlag{
		Name:  "results-dir",
		Usage: "write Tekton results into `DIR`, one file per result",
		Value: results.DefaultDir,
	}
}

// Results returns the results directory named by --results-dir.
func Results(c *cli.Context) results.Dir {
	return results.Dir{Path: c.String("results-dir")}
}

// WriteResults writes each {name, value} result into the --results-dir
// directory, in the order given, and stops at the first that fails: the
// steps whose results are plain strings list them in one table.
func WriteResults(c *cli.Context, nameValues [][2]string) error {
	dir := Results(c)
	for _, r := range nameValues {
		if err := dir.Write(r[0], r[1]); err != nil {
			return err
		}
	}
	return nil
}

// ListValues returns the values of a string-slice flag, each trimmed, with
// the blank ones dropped: a Tekton task passes an optional list param as
// "--flag=" even when it is empty (and "--flag=a,b" for several, which the
// flag splits on commas).
func ListValues(c *cli.Context, name string) []string {
	var values []string
	for _, v := range c.StringSlice(name) {
		if v = strings.TrimSpace(v); v != "" {
			values = append(values, v)
		}
	}
	return values
}

// StopGrace is how long a step has, after SIGTERM or SIGINT cancelled its
// context, to clean up and return before Main exits anyway (exit 2). A
// second signal ends the wait. Kubernetes sends SIGKILL 30 seconds after
// SIGTERM by default.
const StopGrace = 10 * time.Second

// Main runs app with os.Args and exits with the project's exit code. Errors
// are printed once, to stderr, prefixed with the program's name.
//
// SIGTERM and SIGINT cancel the context the app runs with (c.Context),
// with a cause naming the signal; the step cleans up and returns, and Main
// exits 2: a stopped step gave no answer.
func Main(app *cli.App) {
	ctx, cancel := context.WithCancelCause(context.Background())
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		sig := <-signals
		cancel(fmt.Errorf("%w: %v", ErrStopped, sig))
		select {
		case sig = <-signals:
		case <-time.After(StopGrace):
		}
		fmt.Fprintf(os.Stderr, "%s: stopped by %v before it finished cleaning up\n", app.Name, sig)
		os.Exit(exitcode.Error)
	}()
	os.Exit(RunContext(ctx, app, os.Args, os.Stderr))
}

// ErrStopped is the cause of the context Main's app runs with when a
// signal stopped the step.
var ErrStopped = errors.New("stopped by a signal")

// Run runs app and returns the exit code instead of exiting, for tests.
func Run(app *cli.App, args []string, stderr io.Writer) int {
	return RunContext(context.Background(), app, args, stderr)
}

// Capture runs app like Run, with its Writer and ErrWriter set to
// buffers, and returns the exit code and what it wrote to each (the error
// Run prints included), for tests.
func Capture(app *cli.App, args ...string) (code int, stdout, stderr string) {
	var out, errw bytes.Buffer
	app.Writer, app.ErrWriter = &out, &errw
	code = Run(app, args, &errw)
	return code, out.String(), errw.String()
}

// RunContext is Run with a context that stopping the step cancels. The
// exit code is always one of the documented three: 0, 1 (only for an
// *exitcode.Err saying so) or 2. An error that carries some other status
// (a child process's exit status, say) is an error: 2.
func RunContext(ctx context.Context, app *cli.App, args []string, stderr io.Writer) int {
	app.ExitErrHandler = func(*cli.Context, error) {}
	if app.ErrWriter == nil {
		app.ErrWriter = stderr
	}
	err := app.RunContext(ctx, args)
	if err == nil {
		return exitcode.OK
	}
	if cause := context.Cause(ctx); cause != nil && !errors.Is(err, cause) {
		err = fmt.Errorf("%w (%v)", err, cause)
	}
	fmt.Fprintf(stderr, "%s: %v\n", app.Name, err)
	if exitcode.Code(err) == exitcode.Failed {
		return exitcode.Failed
	}
	return exitcode.Error
}

// Usagef reports bad command-line input (exit 2) with a message naming the
// flag.
func Usagef(format string, args ...any) error {
	return &exitcode.Err{Code: exitcode.Error, Err: fmt.Errorf(format, args...)}
}

// TLSVerifyFlag is --tls-verify, as buildah and skopeo spell it, with
// one meaning in every step: go-containerregistry already lets loopback
// registries (a test's, a kind cluster's) use plain HTTP, and false
// extends that to every registry, for a user who asks for it.
func TLSVerifyFlag() *cli.BoolFlag {
	return &cli.BoolFlag{Name: "tls-verify", Value: true,
		Usage: "require HTTPS with verified certificates, except for loopback registries; false allows plain HTTP to any registry"}
}

// JSONOutputFlag is --output for commands whose one machine format is
// JSON: people read the progress on stderr, a script reads the result on
// stdout. Any other value is a usage error before the command's action
// runs, so a typo costs nothing.
func JSONOutputFlag() *cli.StringFlag {
	return &cli.StringFlag{Name: "output", Usage: "also print the result: `json` on stdout",
		Action: func(_ *cli.Context, out string) error {
			if out != "json" {
				return Usagef("--output %q: want json", out)
			}
			return nil
		}}
}

// PrintJSON writes v, indented, on stdout when --output json was given.
func PrintJSON(c *cli.Context, v any) error {
	if c.String("output") != "json" {
		return nil
	}
	return WriteJSON(c.App.Writer, v)
}

// WriteJSON writes v to w as PrintJSON does, for a command whose --output
// also has a text form and so decides itself when to print JSON.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
