#!/usr/bin/env bash
# Installs what the tests need beyond Go, gcc and git, on a fresh Debian
# machine as root. Idempotent: what is already there is skipped.
set -euo pipefail

apt_packages=(
  busybox-static   # the build tests assemble a small base image from it
  docker-registry  # the end-to-end tests push to a real distribution server
  uidmap           # buildah's user-namespace helpers
)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
# npm and pip: the prefetch tests prove that `npm ci --offline` and
# `pip3 install` accept what the step wrote. Any npm or pip3 on PATH will
# do (a machine may have them from elsewhere); Debian's otherwise.
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v pip3 >/dev/null 2>&1 || missing+=(python3-pip)
if ((${#missing[@]})); then
  echo "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# cosign v2.6.5: the interop tests verify what trustline writes with it.
gobin="$(go env GOPATH)/bin"
if ! "$gobin/cosign" version 2>/dev/null | grep -q 'v2.6.5'; then
  echo "installing cosign v2.6.5"
  GOFLAGS= go install github.com/sigstore/cosign/v2/cmd/cosign@v2.6.5
fi

# govulncheck v1.9.0: the scan tests compare their Go findings with it.
if ! "$gobin/govulncheck" -version 2>/dev/null | grep -q 'v1.9.0'; then
  echo "installing govulncheck v1.9.0"
  GOFLAGS= go install golang.org/x/vuln/cmd/govulncheck@v1.9.0
fi
