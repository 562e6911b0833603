package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moby/sys/mountinfo"
	"go.podman.io/storage"
	"golang.org/x/sys/unix"
)

// mountsUnder lists the mount points at or below each dir in this
// process's mount namespace, deepest first.
func mountsUnder(dirs ...string) ([]string, error) {
	var out []string
	for _, dir := range dirs {
		if dir == "" {
			continue
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, err
		}
		ms, err := mountinfo.GetMounts(mountinfo.PrefixFilter(abs))
		if err != nil {
			return nil, fmt.Errorf("reading the mount table: %w", err)
		}
		for _, m := range ms {
			out = append(out, m.Mountpoint)
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	// Deepest first: a mount on top of another goes before it.
	slices.SortStableFunc(out, func(a, b string) int {
		return strings.Count(b, "/") - strings.Count(a, "/")
	})
	return out, nil
}

// unmountNew unmounts every mount point below dirs that is not in before
// (the mounts that were there when the build started, which belong to
// someone else), and fails if one of them stays mounted.
func unmountNew(before []string, dirs ...string) error {
	now, err := mountsUnder(dirs...)
	if err != nil {
		return err
	}
	var errs []error
	for _, m := range now {
		if slices.Contains(before, m) {
			continue
		}
		// MNT_DETACH: a mount still busy (a process the kernel has not
		// finished reaping) is taken out of the tree at once, so nothing
		// below can be reached through it any more.
		if err := unix.Unmount(m, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("unmounting %s: %w", m, err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	left, err := mountsUnder(dirs...)
	if err != nil {
		return err
	}
	for _, m := range left {
		if !slices.Contains(before, m) {
			return fmt.Errorf("%s is still mounted", m)
		}
	}
	return nil
}

// removeTemp removes the build's temporary directory, after making sure
// nothing is mounted below it: removing files through a bind mount would
// remove what the mount shows (a host's /dev/null, say), not the build's
// copy. If a mount cannot be taken away, the directory is left in place
// and the error says so.
func removeTemp(dir string) error {
	if err := unmountNew(nil, dir); err != nil {
		return fmt.Errorf("not removing %s: %w", dir, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing %s: %w", dir, err)
	}
	return nil
}

// containerIDs lists the containers in storage.
func containerIDs(st storage.Store) ([]string, error) {
	cs, err := st.Containers()
	if err != nil {
		return nil, fmt.Errorf("listing containers in storage: %w", err)
	}
	ids := make([]string, 0, len(cs))
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	return ids, nil
}

// removeNewContainers deletes the working containers a build left in
// storage: every container not in before. buildah removes them itself when
// a build fails; a killed build has no chance to. One step runs one build
// in its storage, so a container that appeared meanwhile is this build's.
func removeNewContainers(st storage.Store, before []string) error {
	now, err := containerIDs(st)
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range now {
		if slices.Contains(before, id) {
			continue
		}
		// Unmount it first (its mount count is stale: the mounts went with
		// the build's namespace), so that deleting it cannot reach through
		// a mount.
		if _, err := st.Unmount(id, true); err != nil && !errors.Is(err, storage.ErrLayerNotMounted) {
			errs = append(errs, fmt.Errorf("unmounting working container %s: %w", id, err))
			continue
		}
		if err := st.DeleteContainer(id); err != nil && !errors.Is(err, storage.ErrContainerUnknown) {
			errs = append(errs, fmt.Errorf("removing working container %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// runAndClean runs the build in its own namespaces (runIsolated) and,
// whether it succeeded, failed or was stopped, leaves nothing of it
// mounted in the step's mount namespace and, when it did not succeed, no
// working container in storage.
func runAndClean(ctx context.Context, st storage.Store, spec buildSpec, progress io.Writer) (string, error) {
	dirs := []string{spec.Config.Dir, spec.Storage.Root, spec.Storage.RunRoot}
	mountsBefore, err := mountsUnder(dirs...)
	if err != nil {
		return "", err
	}
	containersBefore, err := containerIDs(st)
	if err != nil {
		return "", err
	}
	id, buildErr := runIsolated(ctx, spec, progress)
	errs := []error{buildErr}
	if err := unmountNew(mountsBefore, dirs...); err != nil {
		errs = append(errs, fmt.Errorf("cleaning up after the build: %w", err))
	} else if buildErr != nil {
		if err := removeNewContainers(st, containersBefore); err != nil {
			errs = append(errs, fmt.Errorf("cleaning up after the build: %w", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return "", err
	}
	return id, nil
}
