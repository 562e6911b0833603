# trustline: a Tekton task library and its Go step binaries.
#
# The build tags are the ones the buildah library needs without gpgme,
# btrfs or devicemapper headers; every go command here uses them.
SHELL := bash
GO ?= go
BUILD_TAGS := containers_image_openpgp,exclude_graphdriver_btrfs,exclude_graphdriver_devicemapper
export GOFLAGS := -tags=$(BUILD_TAGS)
export CGO_ENABLED := 1
# Two checksum-database gaps in tektoncd's modules; go.sum pins them.
export GONOSUMDB := github.com/tektoncd/chains,github.com/tektoncd/cli

TEST_TIMEOUT ?= 60m
BENCH ?= .
# Per fuzz target: a smoke run in `make test`, the long form in `make fuzz`.
FUZZTIME_SHORT ?= 3s
FUZZTIME ?= 5m

.PHONY: all build test test-deps test-hidden-host fuzz bench demo docs fmt vet clean e2e-cluster

all: build

## build: every binary into bin/ (the trustline CLI and one per step)
build:
	$(GO) build -trimpath -o bin/ ./cmd/trustline ./steps/...

## test: every test (as root: the build step's tests need it), the build and
## end-to-end tests again with host tooling hidden, then every fuzz target for
## $(FUZZTIME_SHORT)
test: build test-deps test-hidden-host
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...
	./scripts/fuzz.sh $(FUZZTIME_SHORT)

## fuzz: every fuzz target for $(FUZZTIME) (FUZZ_PKG=regexp picks packages)
fuzz:
	./scripts/fuzz.sh $(FUZZTIME) '$(or $(FUZZ_PKG),.)'

## test-hidden-host: the build and end-to-end tests again, on a host faked to
## have podman, buildah, netavark, CNI plugins and /etc/containers, all hidden
## (scripts/hidden-host.sh): no step may depend on the host's container tooling
test-hidden-host: build test-deps
	./scripts/hidden-host.sh --self-test $(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./internal/build/... ./steps/build/... ./test/e2e/...

## test-deps: what the tests need beyond Go, gcc and git (apt packages, cosign)
test-deps:
	./scripts/install-test-deps.sh

## bench: Go benchmarks, then the whole-command comparisons in scripts/bench
bench: build
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem ./...
	@summary=$$(mktemp); \
	for s in scripts/bench/*.sh; do [ -x "$$s" ] && { echo "== $$s"; BENCH_SUMMARY=$$summary "$$s"; } || true; done; \
	echo; echo "== every figure against the peer tool in the same run (machine: $$(. scripts/bench/lib.sh; machine))"; \
	bash -c '. scripts/bench/lib.sh; table "$$1"' _ $$summary; rm -f $$summary

## demo: the main job on an embedded local registry
demo: build
	./scripts/demo.sh

## e2e-cluster: (as root) a single-node Kubernetes cluster built from the Go
## module proxy, Tekton Pipelines and Chains from their module sources; the
## library published to it and the docker-build pipeline run from its bundle,
## Chains' signature and provenance checked by verify-policy and cosign, three
## tampered cases refused; everything stopped at the end (docs/cluster-dev.md)
e2e-cluster: build test-deps
	trap ./scripts/cluster/down.sh EXIT; ./scripts/cluster/up.sh && ./scripts/cluster/tekton.sh && ./scripts/cluster/chains.sh && ./scripts/cluster/pipeline.sh

## docs: regenerate every task and pipeline README from its YAML
docs: build
	./bin/trustline docs

fmt:
	gofmt -w $$(git ls-files '*.go')

vet:
	$(GO) vet ./...

clean:
	rm -rf bin out
