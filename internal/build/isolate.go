package build

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"go.podman.io/storage/pkg/reexec"
	"golang.org/x/sys/unix"
)

// buildCommand is the name under which the binary re-executes itself to
// run a build in namespaces of its own.
const buildCommand = "trustline-build"

func init() {
	reexec.Register(buildCommand, buildMain)
}

// buildReply is what the build process sends back on file descriptor 3.
type buildReply struct {
	ImageID string `json:"imageID,omitempty"`
	Error   string `json:"error,omitempty"`
}

// runIsolated runs the build in a child process with its own PID and
// mount namespaces (and, for a hermetic build, its own empty network
// namespace), so that stopping a build stops all of it:
//
//   - every process a RUN starts, daemons included, is in the child's PID
//     namespace; killing the child (its PID 1) makes the kernel kill them
//     all, wherever they moved in the process tree;
//   - everything the build mounts (the overlay over the context, the
//     chroot's /dev, /proc and /sys binds, overlay layers) is in the
//     child's private mount namespace, and is unmounted by the kernel when
//     the namespace goes, never by a cleanup that could follow a bind
//     mount out of it.
//
// chroot isolation shares the step's network with every RUN, so the
// hermetic namespace has to come from outside buildah; the child's
// loopback is brought up (tests inside a build may listen on localhost)
// but leads nowhere else. Pulls happened before, and the push happens
// after, in this process, which keeps the network. When ctx is done the
// child is killed and runIsolated returns ctx's cause.
func runIsolated(ctx context.Context, spec buildSpec, progress io.Writer) (string, error) {
	in, err := json.Marshal(spec)
	if err != nil {
		return "", err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return "", fmt.Errorf("build process: %w", err)
	}
	defer r.Close()
	cmd := reexec.Command(buildCommand)
	cmd.Stdin = bytes.NewReader(in)
	cmd.Stdout = progress
	cmd.Stderr = progress
	cmd.ExtraFiles = []*os.File{w}
	cmd.Env = spec.Config.environ(os.Environ())
	flags := uintptr(syscall.CLONE_NEWPID | syscall.CLONE_NEWNS)
	if spec.Hermetic {
		flags |= syscall.CLONE_NEWNET
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: flags,
		// If this process dies without a chance to clean up, the build
		// (and with it its namespaces) dies too.
		Pdeathsig: syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		w.Close()
		return "", fmt.Errorf("starting the build process in new PID and mount namespaces (needs CAP_SYS_ADMIN): %w", err)
	}
	w.Close()
	finished := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			close(stopped)
		case <-finished:
		}
	}()
	out, readErr := io.ReadAll(r)
	waitErr := cmd.Wait()
	close(finished)
	select {
	case <-stopped:
		return "", fmt.Errorf("build stopped: %w", context.Cause(ctx))
	default:
	}
	var reply buildReply
	if len(out) > 0 {
		if err := json.Unmarshal(out, &reply); err != nil {
			return "", fmt.Errorf("bad reply from the build process: %w", err)
		}
	}
	switch {
	case reply.Error != "":
		return "", errors.New(reply.Error)
	case waitErr != nil:
		// %v: the process's exit status is not the step's.
		return "", fmt.Errorf("build process: %v", waitErr)
	case readErr != nil:
		return "", fmt.Errorf("build process: %w", readErr)
	case reply.ImageID == "":
		return "", errors.New("the build process reported no image")
	}
	return reply.ImageID, nil
}

// buildMain runs in the re-executed child, as PID 1 of its namespace.
func buildMain() {
	reply := func(r buildReply, code int) {
		f := os.NewFile(3, "reply")
		_ = json.NewEncoder(f).Encode(r)
		f.Close()
		os.Exit(code)
	}
	// Nothing the build starts may hold the reply pipe open.
	syscall.CloseOnExec(3)
	var spec buildSpec
	if err := json.NewDecoder(os.Stdin).Decode(&spec); err != nil {
		reply(buildReply{Error: "build process: reading the build spec: " + err.Error()}, 2)
	}
	if err := privateMounts(); err != nil {
		reply(buildReply{Error: "build process: " + err.Error()}, 2)
	}
	if spec.Hermetic {
		if err := loopbackUp(); err != nil {
			reply(buildReply{Error: "hermetic build: " + err.Error()}, 2)
		}
	}
	st, err := openStore(spec.Storage)
	if err != nil {
		reply(buildReply{Error: err.Error()}, 2)
	}
	progress := &signalNote{w: os.Stderr}
	id, err := runBuild(context.Background(), st, spec, progress)
	if _, serr := st.Shutdown(false); serr != nil && err == nil {
		err = fmt.Errorf("closing storage: %w", serr)
	}
	if err != nil {
		reply(buildReply{Error: describeBuildError(err, progress.signal())}, 1)
	}
	reply(buildReply{ImageID: id}, 0)
}

// privateMounts stops mounts in this (new) mount namespace from reaching
// the step's, and gives the new PID namespace its own /proc, so that a
// RUN sees only the build's processes. A container runtime that forbids
// mounting proc (an unprivileged pod) leaves the step's /proc in place.
func privateMounts() error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		if errors.Is(err, unix.EINVAL) {
			// The kernel's answer when "/" is not a mount point. Going on
			// would let the build's mounts reach the host's namespace.
			return fmt.Errorf("making the build's mounts private: the step's root directory is not a mount point (a chroot into a plain directory?); run the step in a container, or bind-mount the directory onto itself before entering it: %w", err)
		}
		return fmt.Errorf("making the build's mounts private: %w", err)
	}
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil && !errors.Is(err, unix.EPERM) {
		return fmt.Errorf("mounting /proc for the build's PID namespace: %w", err)
	}
	return nil
}

// stepPattern finds the instruction in buildah's "building at STEP" error.
var stepPattern = regexp.MustCompile(`building at STEP "([^"]*)"`)

// describeBuildError says which instruction failed and how, when a RUN's
// command exited with a non-zero status: buildah passes that status up as
// the error, and it is the build's failure, not the step's exit code.
// killedBy is the signal buildah's chroot runtime reported, if any: it
// exits 1 when the command it ran was killed by a signal.
func describeBuildError(err error, killedBy string) string {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return describeCopierError(err.Error())
	}
	instruction := "a RUN instruction"
	if m := stepPattern.FindStringSubmatch(err.Error()); m != nil {
		instruction = strconv.Quote(m[1])
	}
	how := describeStatus(ee)
	if killedBy != "" && ee.ExitCode() == 1 {
		how = "the command was killed by signal " + killedBy
	}
	return fmt.Sprintf("instruction %s failed: %s (%v)", instruction, how, err)
}

// copierRequest matches buildah's copier failure, which prints the whole
// request struct (2.5 KB of Go syntax) before the reason: keep the
// instruction and the reason.
var copierRequest = regexp.MustCompile(`(?s)^(.*?): reading "[^"]*": .*copier\.request\{.*\}: (copier: .*?)(: write \|1: broken pipe)?$`)

// symlinkOutside matches the reason when a COPY source is a symbolic link
// whose target is not in the build context: COPY resolves links inside the
// context, as Docker does, so an absolute target names a path there.
var symlinkOutside = regexp.MustCompile(`lstat "([^"]*)"\("([^"]*)"\): lstat [^:]*: no such file or directory`)

// describeCopierError shortens buildah's copier errors to the instruction
// and the reason, naming a source that is a symbolic link to a path
// outside the context; other errors are returned as they are.
func describeCopierError(msg string) string {
	m := copierRequest.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	reason := m[2]
	if l := symlinkOutside.FindStringSubmatch(reason); l != nil {
		reason = fmt.Sprintf("%q in the build context is a symbolic link to %q, which is not in the build context (COPY and ADD resolve links inside the context)", strings.TrimPrefix(l[1], "/"), l[2])
	}
	return m[1] + ": " + reason
}

// describeStatus puts a command's exit status in words: a shell reports a
// command killed by signal N as status 128+N.
func describeStatus(ee *exec.ExitError) string {
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return fmt.Sprintf("the command was killed by signal %d (%v)", int(ws.Signal()), ws.Signal())
	}
	code := ee.ExitCode()
	if code > 128 && code < 128+65 {
		sig := syscall.Signal(code - 128)
		return fmt.Sprintf("the command exited with status %d (128+%d: killed by signal %v)", code, code-128, sig)
	}
	return fmt.Sprintf("the command exited with status %d", code)
}

// signalNote passes the build's output on and remembers the last signal
// buildah's chroot runtime reported ("subprocess exited on <signal>").
type signalNote struct {
	w    io.Writer
	mu   sync.Mutex
	last string
	tail []byte
}

var signalLine = regexp.MustCompile(`subprocess exited on ([^\n]+)\n`)

func (n *signalNote) Write(p []byte) (int, error) {
	n.mu.Lock()
	buf := append(n.tail, p...)
	if ms := signalLine.FindAllSubmatch(buf, -1); len(ms) > 0 {
		n.last = string(ms[len(ms)-1][1])
	}
	if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
		buf = buf[i+1:]
	}
	if len(buf) > 256 {
		buf = buf[len(buf)-256:]
	}
	n.tail = append([]byte(nil), buf...)
	n.mu.Unlock()
	return n.w.Write(p)
}

func (n *signalNote) signal() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.last
}

// loopbackUp sets the new namespace's lo interface up, as `ip link set lo
// up` would.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback: reading flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback: setting it up: %w", err)
	}
	return nil
}
