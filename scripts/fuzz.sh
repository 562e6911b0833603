#!/usr/bin/env bash
# Runs every Fuzz* target in the module for a fixed time each, one target
# at a time (go test -fuzz takes a single target and a single package).
#
#   scripts/fuzz.sh [FUZZTIME] [PACKAGE-PATTERN]
#
# FUZZTIME defaults to 3s: the short form `make test` runs, a smoke test
# that every target starts, runs and keeps passing on its seeds and on a
# few thousand mutations. `make fuzz` runs the long form (FUZZTIME=5m).
# New failing inputs are written below the package's testdata/fuzz/<Name>/
# by go test itself; commit them, they become regression seeds.
#
# Each package's instrumented test binary is built once (by -c) and then
# run per target, so a package with several targets is compiled once; the
# script prints how long each build and each target took, and the total.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-3s}
pattern=${2:-.}
GO=${GO:-go}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)
failed=()

# Go 1.26's fuzz coordinator can fail a target at the -fuzztime boundary
# with a bare "context deadline exceeded" (go.dev/issue/75804, fixed in Go
# 1.27): the deadline fires on the parent context before the workers'
# context is cancelled. A real finding always writes a failing input and
# prints more than that one line, so only that exact shape counts as the
# race, and the target's seeds are then replayed to be sure.
coordinator_deadline_race() {
	local why
	why=$(awk '/^--- FAIL: /{f=1; next} f && /^FAIL$/{exit} f{print}' "$1")
	[[ $why == '    context deadline exceeded' ]] && ! grep -q 'Failing input written' "$1"
}

# package directory -> target names, from the test sources.
mapfile -t lines < <(grep -rEo --include='*_test.go' '^func (Fuzz[A-Za-z0-9_]*)\(' . |
	grep -v '^./vendor/' | sed -E 's#^\./(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\(#\1 \2#' | sort)
declare -A targets=()
for l in "${lines[@]}"; do
	dir=${l% *} name=${l#* }
	[[ $dir =~ $pattern ]] || continue
	targets[$dir]+="$name "
done
for dir in $(printf '%s\n' "${!targets[@]}" | sort); do
	bin="$tmp/$(echo "$dir" | tr / _).test"
	t0=$(date +%s)
	# -fuzz at build time turns on the coverage instrumentation the
	# fuzzer needs; the target named here does not matter.
	if ! $GO test -c -o "$bin" -fuzz . "./$dir" >"$tmp/build.log" 2>&1; then
		cat "$tmp/build.log"
		failed+=("$dir (build)")
		continue
	fi
	echo "== $dir: built in $(($(date +%s) - t0))s"
	for name in ${targets[$dir]}; do
		t1=$(date +%s)
		# The fuzzer runs from the package directory so that
		# testdata/fuzz/<Name> seeds are found and new finds land there.
		if (cd "$dir" && "$bin" -test.run '^$' -test.fuzz "^${name}\$" -test.fuzztime "$fuzztime" \
			-test.fuzzcachedir "$tmp/cache" >"$tmp/run.log" 2>&1); then
			echo "   $name ok ($(($(date +%s) - t1))s)"
		elif coordinator_deadline_race "$tmp/run.log" &&
			(cd "$dir" && "$bin" -test.run "^${name}\$" >"$tmp/replay.log" 2>&1); then
			echo "   $name ok ($(($(date +%s) - t1))s; go.dev/issue/75804 deadline race at the end, no failing input, seeds replayed)"
		else
			cat "$tmp/run.log"
			failed+=("$dir $name")
		fi
	done
done
echo "fuzzing took $(($(date +%s) - start))s in total"
if ((${#failed[@]})); then
	printf 'FAILED: %s\n' "${failed[@]}" >&2
	exit 1
fi
