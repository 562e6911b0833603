package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trustline-dev/trustline/internal/golden"
)

func sample() *Report {
	r := &Report{
		Success: false, EffectiveTime: "2026-11-26T12:00:00Z", Key: "k1",
		Policy: Policy{Name: "release", Digest: "sha256:abcd"},
		Components: []Component{
			{Name: "api", ContainerImage: "quay.io/t/api:1", Ref: "quay.io/t/api@sha256:11", Success: true, SuccessCount: 17, VSA: "quay.io/t/api:sha256-11.att"},
			{Name: "web", ContainerImage: "quay.io/t/web:1", Ref: "quay.io/t/web@sha256:22", SuccessCount: 15,
				Violations: []Result{{Msg: "Image quay.io/t/web@sha256:22 has no signature | x", Metadata: Metadata{Code: "signature.image_signed", Title: "Image is signed", Solution: "Sign the\n image."}}},
				Warnings:   []Result{{Msg: "Test scan reported WARNING", Metadata: Metadata{Code: "test.test_warnings", Title: "TEST_OUTPUT warnings", EffectiveOn: "2022-01-01T00:00:00Z"}}}},
			{Name: "db", ContainerImage: "127.0.0.1:1/db:1", Error: "resolving 127.0.0.1:1/db:1: connection refused"},
		},
		Errors: 1,
	}
	r.Sort()
	return r
}

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func TestGolden(t *testing.T) {
	for _, f := range Formats {
		var b bytes.Buffer
		if err := sample().Write(&b, f, now); err != nil {
			t.Fatal(err)
		}
		golden.Check(t, filepath.Join("testdata", string(f)+".golden"), b.Bytes())
	}
}

func TestFormatsAreWellFormed(t *testing.T) {
	r := sample()
	var b bytes.Buffer
	r.Write(&b, JUnit, now)
	var suites junitSuites
	if err := xml.Unmarshal(b.Bytes(), &suites); err != nil {
		t.Fatalf("junit: %v", err)
	}
	if suites.Failures != 1 || suites.Errors != 1 || len(suites.Suites) != 3 || suites.Suites[0].Tests != 17 {
		t.Errorf("junit totals: %+v", suites)
	}
	b.Reset()
	r.Write(&b, JSON, now)
	var back Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || back.Components[1].Violations[0].Metadata.Code != "signature.image_signed" {
		t.Errorf("json round trip: %v %+v", err, back)
	}
	to := r.TestOutput(now)
	if to.Result != "ERROR" || to.Failures != 1 || to.Warnings != 1 || to.Successes != 32 || to.Namespace != "default" {
		t.Errorf("TEST_OUTPUT: %+v", to)
	}
	r.Errors, r.Components = 0, r.Components[:2]
	if r.TestOutput(now).Result != "FAILURE" || r.Outcome() != "fail" {
		t.Errorf("fail outcome: %+v", r.TestOutput(now))
	}
	r.Components = r.Components[:1]
	r.Success = true
	if r.TestOutput(now).Result != "SUCCESS" {
		t.Errorf("pass outcome: %+v", r.TestOutput(now))
	}
	b.Reset()
	sample().Write(&b, Markdown, now)
	if !strings.Contains(b.String(), `no signature \| x`) {
		t.Errorf("markdown does not escape |: %s", b.String())
	}
}

func TestParseOutput(t *testing.T) {
	for in, want := range map[string]Output{
		"text": {Format: Text}, "JSON=out/r.json": {Format: JSON, File: "out/r.json"}, "appstudio=/tekton/results/TEST_OUTPUT": {Format: AppStudio, File: "/tekton/results/TEST_OUTPUT"},
	} {
		got, err := ParseOutput(in)
		if err != nil || got != want {
			t.Errorf("ParseOutput(%q) = %+v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"xml", "json=", ""} {
		if _, err := ParseOutput(bad); err == nil {
			t.Errorf("ParseOutput(%q) accepted", bad)
		}
	}
}
