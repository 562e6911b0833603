//go:build depspin

// Package depspin pins the module's heavy dependencies while the packages
// that use them are being written, so that go.mod and go.sum hold one
// consistent set (see ../shared/deps.md). It is never built.
package depspin

import (
	_ "github.com/CycloneDX/cyclonedx-go"
	_ "github.com/anchore/syft/syft"
	_ "github.com/anchore/syft/syft/source/stereoscopesource"
	_ "github.com/go-git/go-git/v5"
	_ "github.com/google/go-containerregistry/pkg/registry"
	_ "github.com/google/go-containerregistry/pkg/v1/remote"
	_ "github.com/google/osv-scalibr/semantic"
	_ "github.com/moby/buildkit/frontend/dockerfile/parser"
	_ "github.com/open-policy-agent/opa/v1/rego"
	_ "github.com/santhosh-tekuri/jsonschema/v6"
	_ "github.com/secure-systems-lab/go-securesystemslib/dsse"
	_ "github.com/secure-systems-lab/go-securesystemslib/encrypted"
	_ "github.com/sigstore/sigstore/pkg/signature"
	_ "github.com/tektoncd/chains/pkg/chains/formats/slsa/v1"
	_ "github.com/tektoncd/chains/pkg/chains/formats/slsa/v2alpha4"
	_ "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	_ "github.com/tektoncd/pipeline/pkg/resolution/resolver/bundle"
	_ "github.com/urfave/cli/v2"
	_ "go.podman.io/buildah"
	_ "go.podman.io/buildah/imagebuildah"
	_ "go.podman.io/storage"
	_ "modernc.org/sqlite"
	_ "sigs.k8s.io/yaml"
)
