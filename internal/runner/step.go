package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
)

// stepImage matches the library's step images: …/step-<name>@sha256:<hex>.
var stepImage = regexp.MustCompile(`^(?:[^@]+/)?step-([a-z0-9][a-z0-9-]*)@sha256:[0-9a-f]{64}$`)

// ImageError says why a step image cannot run locally.
type ImageError struct {
	Where string
	Step  string
	Image string
	Why   string
}

func (e *ImageError) Error() string {
	return fmt.Sprintf("%s: step %q: image %s: %s", e.Where, e.Step, e.Image, e.Why)
}

// stepBinary maps a step to the binary that runs it, or refuses it.
func (r *Runner) stepBinary(where string, s *v1.Step) (string, error) {
	m := stepImage.FindStringSubmatch(s.Image)
	if m == nil {
		return "", &ImageError{Where: where, Step: s.Name, Image: s.Image,
			Why: "not a trustline step image (…/step-<name>@sha256:<digest>); the local runner runs only the library's step binaries"}
	}
	name := m[1]
	if len(s.Command) > 0 && filepath.Base(s.Command[0]) != name {
		return "", &ImageError{Where: where, Step: s.Name, Image: s.Image,
			Why: fmt.Sprintf("command %q is not the image's binary /usr/local/bin/%s", s.Command[0], name)}
	}
	bin := filepath.Join(r.o.binDir, name)
	st, err := os.Stat(bin)
	if err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		return "", &ImageError{Where: where, Step: s.Name, Image: s.Image,
			Why: fmt.Sprintf("step binary %s not found (run `make build`, or point --bin-dir at the binaries)", bin)}
	}
	return bin, nil
}

// runStep runs one step binary and returns its exit code and Tekton's
// termination reason. An error means the step could not start.
func (r *Runner) runStep(ctx context.Context, in *taskInput, s *v1.Step, dirs taskDirs) (int, string, error) {
	bin, err := r.stepBinary(in.where, s)
	if err != nil {
		return -1, "", err
	}
	if s.Timeout != nil && s.Timeout.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.Timeout.Duration)
		defer cancel()
	}
	if err := os.MkdirAll(s.WorkingDir, 0o755); err != nil {
		return -1, "", fmt.Errorf("workingDir: %w", err)
	}
	out, err := r.openStepOutput(in, s, dirs)
	if err != nil {
		return -1, "", err
	}
	defer out.Close()
	err = r.stepCommand(ctx, bin, s, dirs, out).Run()
	if ctx.Err() != nil {
		fmt.Fprintf(out.log, "\ntrustline run: step %s stopped: %v\n", s.Name, ctx.Err())
		return 137, "TimeoutExceeded", nil
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return 0, "Completed", nil
	case errors.As(err, &exitErr):
		return exitErr.ExitCode(), "Error", nil
	default:
		return -1, "", err
	}
}

// stepCommand is the step's binary with its arguments (the image's
// command after the binary, then args), working directory and
// environment (WithEnv, HOME, the step's env).
func (r *Runner) stepCommand(ctx context.Context, bin string, s *v1.Step, dirs taskDirs, out *stepOutput) *exec.Cmd {
	var args []string
	if len(s.Command) > 1 {
		args = append(args, s.Command[1:]...)
	}
	args = append(args, s.Args...)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = s.WorkingDir
	cmd.Stdout, cmd.Stderr = out.stdout, out.stderr
	cmd.Env = append(append([]string{}, r.o.env...), "HOME="+dirs.home)
	for _, e := range s.Env {
		cmd.Env = append(cmd.Env, e.Name+"="+e.Value)
	}
	// The step and anything it starts are one process group, killed
	// together on timeout.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// stepOutput is where a step's stdout and stderr go: always its log file,
// also the runner's step output (WithStepOutput) and the step's
// stdoutConfig and stderrConfig paths.
type stepOutput struct {
	log            *os.File
	stdout, stderr io.Writer
	files          []io.Closer // the stdoutConfig and stderrConfig files
}

func (r *Runner) openStepOutput(in *taskInput, s *v1.Step, dirs taskDirs) (*stepOutput, error) {
	logf, err := os.Create(filepath.Join(dirs.logs, s.Name+".log"))
	if err != nil {
		return nil, err
	}
	out := &stepOutput{log: logf, stdout: logf, stderr: logf}
	if r.o.stepOutput != nil {
		pw := &prefixWriter{r: r, prefix: fmt.Sprintf("[%s/%s] ", labelOr(in), s.Name)}
		out.stdout, out.stderr = io.MultiWriter(logf, pw), io.MultiWriter(logf, pw)
	}
	for i, cfg := range []*v1.StepOutputConfig{s.StdoutConfig, s.StderrConfig} {
		if cfg == nil || cfg.Path == "" {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o755); err != nil {
			out.Close()
			return nil, err
		}
		f, err := os.Create(cfg.Path)
		if err != nil {
			out.Close()
			return nil, err
		}
		out.files = append(out.files, f)
		if i == 0 {
			out.stdout = io.MultiWriter(out.stdout, f)
		} else {
			out.stderr = io.MultiWriter(out.stderr, f)
		}
	}
	return out, nil
}

// Close closes the stdoutConfig and stderrConfig files, then the log.
func (o *stepOutput) Close() {
	for _, c := range o.files {
		c.Close()
	}
	o.log.Close()
}

// prefixWriter copies a step's output to WithStepOutput's writer, line
// by line, each line prefixed with the task and step names.
type prefixWriter struct {
	r      *Runner
	prefix string
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.r.logs.Lock()
	defer p.r.logs.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := strings.IndexByte(string(p.buf), '\n')
		if i < 0 {
			break
		}
		fmt.Fprintf(p.r.o.stepOutput, "%s%s\n", p.prefix, p.buf[:i])
		p.buf = p.buf[i+1:]
	}
	return len(b), nil
}
