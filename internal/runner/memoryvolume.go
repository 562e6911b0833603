package runner

import (
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
)

// isMemory reports whether v is an emptyDir of medium Memory.
func isMemory(v corev1.Volume) bool {
	return v.EmptyDir != nil && v.EmptyDir.Medium == corev1.StorageMediumMemory
}

func hasMemoryVolume(vols []corev1.Volume) bool {
	return slices.ContainsFunc(vols, isMemory)
}

// mountMemory mounts a tmpfs of at most limit bytes (0: the kernel's
// default) at dir, as the kubelet does for an emptyDir of medium Memory,
// so a step sees the same speed and the same ENOSPC at the limit. Where
// the runner may not mount (not root), dir stays an ordinary directory.
func mountMemory(dir string, limit int64) bool {
	opts := "mode=0777"
	if limit > 0 {
		opts += ",size=" + strconv.FormatInt(limit, 10)
	}
	return unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts) == nil
}

// unmountVolumes unmounts the tmpfs volumes below dir when an attempt
// ends: a node keeps them until the pod is deleted, but locally nobody
// would, and they hold memory. Their contents go with them.
func unmountVolumes(dir string) error {
	ms, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		return fmt.Errorf("reading the mount table: %w", err)
	}
	var errs []error
	for _, m := range ms {
		if err := unix.Unmount(m.Mountpoint, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
			errs = append(errs, fmt.Errorf("unmounting the memory volume %s: %w", m.Mountpoint, err))
		}
	}
	return errors.Join(errs...)
}
