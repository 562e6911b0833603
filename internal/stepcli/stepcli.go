// Package stepcli is the shared wiring of trustline's command-line
// programs: the --results-dir flag every step has, and the mapping from a
// returned error to the project's exit codes (0 done, 1 the check said no,
// 2 an error prevented an answer). Mains stay thin: they build a cli.App
// and hand it to Main.
package stepcli

import (
	"errors"
	"fmt"
	"io"
	"os"

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

// Main runs app with os.Args and exits with the project's exit code. Errors
// are printed once, to stderr, prefixed with the program's name.
func Main(app *cli.App) {
	os.Exit(Run(app, os.Args, os.Stderr))
}

// Run runs app and returns the exit code instead of exiting, for tests.
func Run(app *cli.App, args []string, stderr io.Writer) int {
	app.ExitErrHandler = func(*cli.Context, error) {}
	if app.ErrWriter == nil {
		app.ErrWriter = stderr
	}
	err := app.Run(args)
	if err == nil {
		return exitcode.OK
	}
	fmt.Fprintf(stderr, "%s: %v\n", app.Name, err)
	var coder cli.ExitCoder
	if errors.As(err, &coder) && !isOurs(err) {
		return coder.ExitCode()
	}
	return exitcode.Code(err)
}

func isOurs(err error) bool {
	var e *exitcode.Err
	return errors.As(err, &e)
}

// Usagef reports bad command-line input (exit 2) with a message naming the
// flag.
func Usagef(format string, args ...any) error {
	return &exitcode.Err{Code: exitcode.Error, Err: fmt.Errorf(format, args...)}
}
