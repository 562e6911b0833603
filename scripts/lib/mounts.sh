# Sourced by scripts that delete work directories (benchmarks, the demo,
# fresh-check). A build, a chroot or an interrupted debootstrap can leave
# something mounted below such a directory (proc, sysfs, an overlay, a bind
# mount of the host's /dev); "rm -rf" would then delete through the mount
# into what it shows, the host's files included. These functions unmount
# first and refuse to delete while anything is still mounted below.

# mounts_under DIR: the mount points at or below DIR, deepest first.
mounts_under() {
	local dir
	dir=$(realpath -m "$1")
	awk -v r="$dir" '{ m = $5; gsub(/\\040/, " ", m); if (m == r || index(m, r "/") == 1) print length(m) "\t" m }' /proc/self/mountinfo |
		sort -rn | cut -f2-
}

# unmount_under DIR: unmounts everything at or below DIR (lazily when busy).
unmount_under() {
	local m
	while IFS= read -r m; do
		[ -n "$m" ] || continue
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done < <(mounts_under "$1")
}

# safe_rm DIR...: unmounts what is below each DIR, then deletes it without
# crossing into another file system; a DIR that still has a mount below it
# is left in place, with an error.
safe_rm() {
	local d rc=0
	for d in "$@"; do
		[ -e "$d" ] || continue
		unmount_under "$d"
		if [ -n "$(mounts_under "$d")" ]; then
			echo "safe_rm: not deleting $d, still mounted below it:" >&2
			mounts_under "$d" >&2
			rc=1
			continue
		fi
		rm -rf --one-file-system -- "$d" || rc=1
	done
	return "$rc"
}
