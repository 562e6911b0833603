#!/usr/bin/env bash
# osv-subset: regenerates test/osv, the small OSV database `make demo` scans
# the sample application against, from osv.dev's Go export in ../shared/osv
# (or SRC). It keeps every Go record that names a package the sample
# application's image can contain (the modules of test/sample-app/go.sum,
# the standard library and the toolchain), without its prose (summary,
# details). Run it when the sample application's dependencies change or the
# source export is updated, and note the source's commit and date in
# test/osv/README.md.
#
#   scripts/osv-subset.sh                # from ../shared/osv
#   scripts/osv-subset.sh /path/to/osv   # a directory holding Go/all.zip
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRC=${1:-$ROOT/../shared/osv}
[ -f "$SRC/Go/all.zip" ] || { echo "osv-subset: no $SRC/Go/all.zip (give the osv.dev export directory as the argument)" >&2; exit 2; }
export GOFLAGS=-tags=containers_image_openpgp,exclude_graphdriver_btrfs,exclude_graphdriver_devicemapper CGO_ENABLED=1
export GONOSUMDB=github.com/tektoncd/chains,github.com/tektoncd/cli

# stdlib and toolchain: the binary's Go version is whatever built it.
pkgs=(--package stdlib --package toolchain)
while read -r mod; do
	pkgs+=(--package "$mod")
done < <(awk '{print $1}' "$ROOT/test/sample-app/go.sum" | sort -u)

cd "$ROOT"
go run ./cmd/trustline db subset --from "$SRC" --ecosystem Go "${pkgs[@]}" --to test/osv
