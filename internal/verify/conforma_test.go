package verify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/trustline-dev/trustline/internal/testimage"
	"github.com/trustline-dev/trustline/internal/testregistry"
	"github.com/trustline-dev/trustline/internal/verify"
	"github.com/trustline-dev/trustline/internal/verify/ecbuiltins"
	"github.com/trustline-dev/trustline/internal/verify/ecp"
	"github.com/trustline-dev/trustline/internal/verify/fixture"
	"github.com/trustline-dev/trustline/internal/verify/report"
	"github.com/trustline-dev/trustline/internal/verify/snapshot"
)

const csv = `apiVersion: operators.coreos.com/v1alpha1
kind: ClusterServiceVersion
metadata:
  name: demo-operator.v1.0.0
`

// pushBundleImage pushes a signed operator bundle: manifests/csv.yaml
// and the OLM label naming manifests/.
func (e *env) pushBundleImage(t *testing.T, repo string) name.Digest {
	t.Helper()
	layer := testimage.Layer(t, testimage.File{Name: "manifests/csv.yaml", Body: csv})
	img := testimage.LabeledImage(t, "amd64", map[string]string{ecbuiltins.BundleManifestsLabel: "manifests/"}, nil, layer)
	d := testregistry.Push(t, e.reg+"/"+repo+":latest", img)
	im := e.goodImage(repo)
	if err := fixture.Attach(context.Background(), d, im); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestConformaInputAndBuiltins runs rules written for these tests
// (testdata/conforma) that read every input field Conforma adds and call
// its built-ins on the image under check, through verify-policy's whole
// path: registry, signatures, input, evaluation, report.
func TestConformaInputAndBuiltins(t *testing.T) {
	e := setup(t)
	app := e.push(t, e.goodImage("app"))
	bundle := e.pushBundleImage(t, "bundle")
	data := t.TempDir()
	expected := map[string]any{"expected": map[string]any{
		"application": "demo",
		"components":  []string{"app", "bundle"},
		"missing":     app.Context().Digest("sha256:" + strings.Repeat("0", 64)).String(),
	}}
	b, _ := json.Marshal(expected)
	os.WriteFile(filepath.Join(data, "expected.json"), b, 0o644)
	pol := &ecp.Policy{Name: "conforma input test", Sources: []ecp.Source{{Name: "conforma", Policy: []string{"testdata/conforma"}, Data: []string{data}}}}
	snap := &snapshot.Snapshot{Application: "demo", Components: []snapshot.Component{
		{Name: "app", ContainerImage: app.String()},
		{Name: "bundle", ContainerImage: bundle.String()},
	}}
	rep := e.verify(t, pol, verify.ImagesFromSnapshot(snap), verify.WithSnapshot(snap), verify.WithSuccesses(true))

	byName := map[string]report.Component{}
	for _, c := range rep.Components {
		if c.Error != "" {
			t.Fatalf("%s: %s", c.Name, c.Error)
		}
		byName[c.Name] = c
	}
	want := map[string][]string{
		// app is no operator bundle: bundle_files fails and its dependent
		// bundle_csv_name is not reported at all.
		"app":    {"builtin_checks.unreachable", "input_checks.bundle_files"},
		"bundle": {"builtin_checks.unreachable"},
	}
	passes := []string{"builtin.attestation.signature_check", "builtin.attestation.syntax_check", "builtin.image.signature_check",
		"builtin_checks.descriptor", "builtin_checks.manifest", "builtin_checks.purl", "builtin_checks.tag_refs",
		"builtin_checks.verify_attestation", "builtin_checks.verify_image",
		"input_checks.component_name", "input_checks.policy_spec", "input_checks.snapshot"}
	for comp, violations := range want {
		c := byName[comp]
		if got := codes(c.Violations); len(got) != len(violations) {
			t.Errorf("%s: violations %+v, want %v", comp, c.Violations, violations)
		} else {
			for _, v := range violations {
				if !got[v] {
					t.Errorf("%s: violations %+v, want %v", comp, c.Violations, violations)
				}
			}
		}
		got := codes(c.Successes)
		for _, p := range passes {
			if !got[p] {
				t.Errorf("%s: %s not among the successes %v", comp, p, got)
			}
		}
		if got["input_checks.bundle_csv_name"] != (comp == "bundle") {
			t.Errorf("%s: bundle_csv_name success %v", comp, got["input_checks.bundle_csv_name"])
		}
		if c.SuccessCount != len(c.Successes) {
			t.Errorf("%s: successCount %d, %d successes", comp, c.SuccessCount, len(c.Successes))
		}
	}

	var buf bytes.Buffer
	if err := rep.Write(&buf, report.JSON, time.Now()); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version    string `json:"ec-version"`
		Components []struct {
			Name      string `json:"name"`
			Successes []struct {
				Metadata map[string]any `json:"metadata"`
			} `json:"successes"`
		} `json:"components"`
	}
	json.Unmarshal(buf.Bytes(), &doc)
	if doc.Version == "" {
		t.Errorf("no ec-version in %s", buf.String())
	}
	found := false
	for _, c := range doc.Components {
		for _, s := range c.Successes {
			if s.Metadata["code"] == "input_checks.bundle_csv_name" {
				d, _ := s.Metadata["depends_on"].([]any)
				found = len(d) == 1 && d[0] == "input_checks.bundle_files"
			}
		}
	}
	if !found {
		t.Errorf("no metadata.depends_on on bundle_csv_name's success in %s", buf.String())
	}
}
