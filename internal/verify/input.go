package verify

import (
	"encoding/json"
	"runtime/debug"

	"github.com/trustline-dev/trustline/internal/verify/snapshot"
)

// unnamed is the component name Conforma gives an image passed alone
// (--image), as input.component_name and in input.snapshot.
const unnamed = "Unnamed"

// Version is what the report's ec-version field says: the trustline
// module's version, "(devel)" in a build from a work tree.
var Version = moduleVersion()

func moduleVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// WithSnapshot gives the policy the application snapshot the images came
// from: its application, displayName and artifacts go into
// input.snapshot, as Conforma passes its snapshot spec. Without it,
// input.snapshot holds only the images' components, as Conforma builds it
// for --image.
func WithSnapshot(s *snapshot.Snapshot) Option { return func(o *options) { o.snapshot = s } }

// snapshotInput is input.snapshot in the shape of Konflux's SnapshotSpec
// (application always present, artifacts and each component's source
// always objects), listing every image of the run.
func snapshotInput(s *snapshot.Snapshot, images []Image) map[string]any {
	out := map[string]any{"application": "", "artifacts": map[string]any{}}
	if s != nil {
		out["application"] = s.Application
		if s.DisplayName != "" {
			out["displayName"] = s.DisplayName
		}
		if s.Artifacts != nil {
			out["artifacts"] = s.Artifacts
		}
	}
	comps := make([]any, 0, len(images))
	for _, img := range images {
		c := map[string]any{"name": componentName(img), "containerImage": img.Ref, "source": map[string]any{}}
		if img.Source != nil {
			c["source"] = toAny(img.Source)
		}
		comps = append(comps, c)
	}
	out["components"] = comps
	return out
}

func componentName(img Image) string {
	if img.Name == "" {
		return unnamed
	}
	return img.Name
}

// toAny turns a value into the plain JSON types the policy input holds.
func toAny(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return nil
	}
	return out
}

// sigstoreOpts is data.config.default_sigstore_opts, which Conforma fills
// from its verification options and its policies pass to
// ec.sigstore.verify_*: trustline verifies with the public key and no
// transparency log.
func sigstoreOpts(publicKeyPEM string) map[string]any {
	return map[string]any{
		"certificate_identity": "", "certificate_identity_regexp": "",
		"certificate_oidc_issuer": "", "certificate_oidc_issuer_regexp": "",
		"ignore_rekor": true, "public_key": publicKeyPEM, "rekor_url": "",
	}
}
