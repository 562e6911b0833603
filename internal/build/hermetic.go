package build

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"go.podman.io/storage/pkg/reexec"
	"golang.org/x/sys/unix"
)

// hermeticCommand is the name under which the binary re-executes itself
// to run a build inside a new network namespace.
const hermeticCommand = "trustline-build-hermetic"

func init() {
	reexec.Register(hermeticCommand, hermeticMain)
}

// hermeticReply is what the child sends back on file descriptor 3.
type hermeticReply struct {
	ImageID string `json:"imageID,omitempty"`
	Error   string `json:"error,omitempty"`
}

// runHermetic runs the build in a child process that has its own, empty
// network namespace. chroot isolation shares the step's network with
// every RUN, so the namespace has to come from outside buildah; the
// child's loopback is brought up (tests inside a build may listen on
// localhost) but leads nowhere else. Pulls happened before, and the push
// happens after, in the parent, which keeps the network.
func runHermetic(ctx context.Context, spec buildSpec, progress io.Writer) (string, error) {
	in, err := json.Marshal(spec)
	if err != nil {
		return "", err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return "", fmt.Errorf("hermetic build: %w", err)
	}
	defer r.Close()
	cmd := reexec.CommandContext(ctx, hermeticCommand)
	cmd.Stdin = bytes.NewReader(in)
	cmd.Stdout = progress
	cmd.Stderr = progress
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNET,
		Pdeathsig:  syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		w.Close()
		return "", fmt.Errorf("hermetic build: starting the build in a new network namespace (needs CAP_SYS_ADMIN): %w", err)
	}
	w.Close()
	out, readErr := io.ReadAll(r)
	waitErr := cmd.Wait()
	var reply hermeticReply
	if len(out) > 0 {
		if err := json.Unmarshal(out, &reply); err != nil {
			return "", fmt.Errorf("hermetic build: bad reply from the build process: %w", err)
		}
	}
	switch {
	case reply.Error != "":
		return "", errors.New(reply.Error)
	case waitErr != nil:
		return "", fmt.Errorf("hermetic build process: %w", waitErr)
	case readErr != nil:
		return "", fmt.Errorf("hermetic build: %w", readErr)
	case reply.ImageID == "":
		return "", errors.New("hermetic build: the build process reported no image")
	}
	return reply.ImageID, nil
}

// hermeticMain runs in the re-executed child.
func hermeticMain() {
	reply := func(r hermeticReply, code int) {
		f := os.NewFile(3, "reply")
		_ = json.NewEncoder(f).Encode(r)
		f.Close()
		os.Exit(code)
	}
	var spec buildSpec
	if err := json.NewDecoder(os.Stdin).Decode(&spec); err != nil {
		reply(hermeticReply{Error: "hermetic build: reading the build spec: " + err.Error()}, 2)
	}
	if err := loopbackUp(); err != nil {
		reply(hermeticReply{Error: "hermetic build: " + err.Error()}, 2)
	}
	st, err := openStore(spec.Storage)
	if err != nil {
		reply(hermeticReply{Error: err.Error()}, 2)
	}
	id, err := runBuild(context.Background(), st, spec, os.Stderr)
	if _, serr := st.Shutdown(false); serr != nil && err == nil {
		err = fmt.Errorf("closing storage: %w", serr)
	}
	if err != nil {
		reply(hermeticReply{Error: err.Error()}, 1)
	}
	reply(hermeticReply{ImageID: id}, 0)
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
