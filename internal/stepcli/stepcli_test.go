package stepcli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/trustline-dev/trustline/internal/exitcode"
	"github.com/trustline-dev/trustline/internal/stepcli/stepclitest"
)

func TestMain(m *testing.M) {
	// TestMainSignals runs this binary as a step that waits to be stopped.
	if os.Getenv("STEPCLI_TEST_WAITING_STEP") != "" {
		Main(waitingStep(os.Getenv("STEPCLI_TEST_WAITING_STEP")))
	}
	os.Exit(m.Run())
}

// waitingStep says "ready" and waits for its context; how=ignore keeps
// running after it (a step that does not honour the context).
func waitingStep(how string) *cli.App {
	return &cli.App{Name: "step", Action: func(c *cli.Context) error {
		fmt.Fprintln(os.Stderr, "ready")
		if how == "ignore" {
			time.Sleep(time.Hour)
		}
		<-c.Context.Done()
		return fmt.Errorf("cleaned up: %w", context.Cause(c.Context))
	}}
}

func TestExitCodes(t *testing.T) {
	childStatus := exec.Command("sh", "-c", "exit 7").Run()
	var ee *exec.ExitError
	if !errors.As(childStatus, &ee) || ee.ExitCode() != 7 {
		t.Fatalf("sh -c 'exit 7': %v", childStatus)
	}
	cases := []struct {
		err  error
		code int
	}{
		{nil, 0},
		{exitcode.CheckFailedf("2 violations"), 1},
		{errors.New("registry unreachable"), 2},
		{Usagef("--image is required"), 2},
		// A child's status is not the step's: only 0, 1 and 2 exist.
		{fmt.Errorf("RUN exit 7: %w", childStatus), 2},
		{&exitcode.Err{Code: 7, Err: errors.New("odd code")}, 2},
		{cli.Exit("urfave exit", 3), 2},
	}
	for _, c := range cases {
		app := &cli.App{Name: "step", Action: func(*cli.Context) error { return c.err }}
		var stderr strings.Builder
		if got := Run(app, []string{"step"}, &stderr); got != c.code {
			t.Errorf("%v: exit %d, want %d", c.err, got, c.code)
		}
		if c.err != nil && !strings.Contains(stderr.String(), "step: "+c.err.Error()) {
			t.Errorf("stderr %q lacks the error", stderr.String())
		}
	}
	// An unknown flag is bad input: exit 2.
	app := &cli.App{Name: "step", Action: func(*cli.Context) error { return nil }}
	var stderr strings.Builder
	if got := Run(app, []string{"step", "--nope"}, &stderr); got != 2 {
		t.Errorf("unknown flag: exit %d", got)
	}
}

// TestMainSignals runs Main in a child process and stops it with SIGTERM
// and SIGINT: exit 2, the signal named, whether the step returns on its
// own (after cleaning up) or has to be cut off by a second signal.
func TestMainSignals(t *testing.T) {
	for _, tc := range []struct {
		name    string
		how     string
		signals []syscall.Signal
		want    string
	}{
		{"sigterm", "honour", []syscall.Signal{syscall.SIGTERM}, "step: cleaned up: stopped by a signal: terminated"},
		{"sigint", "honour", []syscall.Signal{syscall.SIGINT}, "step: cleaned up: stopped by a signal: interrupt"},
		{"second-signal", "ignore", []syscall.Signal{syscall.SIGTERM, syscall.SIGTERM}, "step: stopped by terminated before it finished cleaning up"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0]) // no arguments: Main reads os.Args
			cmd.Env = append(os.Environ(), "STEPCLI_TEST_WAITING_STEP="+tc.how)
			stderr := &stepclitest.Buffer{}
			cmd.Stderr = stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(time.Minute)
			for !strings.Contains(stderr.String(), "ready") {
				if time.Now().After(deadline) {
					_ = cmd.Process.Kill()
					t.Fatalf("the step never got ready: %q", stderr.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
			start := time.Now()
			for _, s := range tc.signals {
				if err := cmd.Process.Signal(s); err != nil {
					t.Fatal(err)
				}
				time.Sleep(100 * time.Millisecond)
			}
			err := cmd.Wait()
			if code := cmd.ProcessState.ExitCode(); code != 2 {
				t.Errorf("exit %d (%v), want 2\n%s", code, err, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr %q, want %q", stderr.String(), tc.want)
			}
			if d := time.Since(start); d > StopGrace {
				t.Errorf("took %s to stop", d)
			}
		})
	}
}

// TestJSONOutput: --output json prints the result on stdout alone; no
// --output prints nothing there; any other value is a usage error (exit 2)
// raised before the work ran.
func TestJSONOutput(t *testing.T) {
	app := func(ran *bool) *cli.App {
		return &cli.App{Name: "step", Flags: []cli.Flag{JSONOutputFlag()}, Action: func(c *cli.Context) error {
			*ran = true
			return PrintJSON(c, map[string]string{"digest": "sha256:abc"})
		}}
	}
	for _, tc := range []struct {
		args       []string
		code       int
		stdout     string
		ran        bool
		stderrHint string
	}{
		{[]string{"--output", "json"}, 0, "{\n  \"digest\": \"sha256:abc\"\n}\n", true, ""},
		{nil, 0, "", true, ""},
		{[]string{"--output", "yaml"}, 2, "", false, `--output "yaml": want json`},
	} {
		var ran bool
		code, stdout, stderr := Capture(app(&ran), append([]string{"step"}, tc.args...)...)
		if code != tc.code || stdout != tc.stdout || ran != tc.ran || !strings.Contains(stderr, tc.stderrHint) {
			t.Errorf("%v: exit %d, ran %v, stdout %q, stderr %q", tc.args, code, ran, stdout, stderr)
		}
	}
}

// TestWriteResultsAndListValues: the results table lands one file per
// result; a list flag as a Tekton task passes it ("--exclude=" when empty,
// "a, b" when not) gives its values without the blanks.
func TestWriteResultsAndListValues(t *testing.T) {
	dir := t.TempDir()
	var values []string
	app := &cli.App{Name: "step",
		Flags: []cli.Flag{ResultsDirFlag(), &cli.StringSliceFlag{Name: "exclude"}},
		Action: func(c *cli.Context) error {
			values = ListValues(c, "exclude")
			return WriteResults(c, [][2]string{{"IMAGE_URL", "r/app:v1"}, {"IMAGE_DIGEST", "sha256:abc"}})
		}}
	if code, _, stderr := Capture(app, "step", "--results-dir", dir, "--exclude=", "--exclude", " a, ,b "); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.Join(values, "|") != "a|b" {
		t.Errorf("ListValues: %q", values)
	}
	for name, want := range map[string]string{"IMAGE_URL": "r/app:v1", "IMAGE_DIGEST": "sha256:abc"} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(b) != want {
			t.Errorf("%s: %q, %v", name, b, err)
		}
	}
}

// TestTLSVerifyFlag: every step verifies TLS unless the user says
// --tls-verify=false; a default of false would quietly allow plain HTTP to
// any registry.
func TestTLSVerifyFlag(t *testing.T) {
	for args, want := range map[string]bool{"": true, "--tls-verify=false": false, "--tls-verify": true} {
		var got bool
		app := &cli.App{Name: "step", Flags: []cli.Flag{TLSVerifyFlag()},
			Action: func(c *cli.Context) error { got = c.Bool("tls-verify"); return nil }}
		argv := strings.Fields("step " + args)
		if code, _, stderr := Capture(app, argv...); code != 0 {
			t.Fatalf("%q: exit %d: %s", args, code, stderr)
		}
		if got != want {
			t.Errorf("%q: tls-verify = %v, want %v", args, got, want)
		}
	}
}
