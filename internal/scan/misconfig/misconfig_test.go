package misconfig

import (
	"fmt"
	"sort"
	"strings"
	"testing"
)

func TestDir(t *testing.T) {
	res, err := Dir("testdata/src")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range res.Findings {
		got = append(got, fmt.Sprintf("%s %s:%d", f.RuleID, f.File, f.Line))
		if !strings.HasPrefix(f.Message, fmt.Sprintf("%s:%d: ", f.File, f.Line)) {
			t.Errorf("message %q does not start with file:line", f.Message)
		}
		if f.Severity == "" || f.Title == "" {
			t.Errorf("finding %+v lacks severity or title", f)
		}
	}
	sort.Strings(got)
	want := []string{
		"TL-CF-001 Containerfile:10", // FROM ${BASE} expands to ubi-minimal:latest
		"TL-CF-001 Containerfile:2",
		"TL-CF-002 Containerfile:10",
		"TL-CF-003 Containerfile:16", // USER root in the final stage
		"TL-CF-004 Containerfile:6",  // ADD url without checksum (line 7 has one)
		"TL-CF-005 Containerfile:5",
		"TL-CF-006 Containerfile:11", // ENV API_KEY
		"TL-CF-006 Containerfile:3",  // ARG GITHUB_TOKEN
		"TL-K8S-001 deploy/deployment.yaml:13",
		"TL-K8S-002 deploy/deployment.yaml:17",
		"TL-K8S-003 deploy/deployment.yaml:8",
		"TL-K8S-004 .tekton/task.yaml:12",
		"TL-K8S-004 deploy/deployment.yaml:11",
		"TL-K8S-005 .tekton/task.yaml:14",
		"TL-K8S-005 deploy/deployment.yaml:14",
	}
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\n\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if res.Files != 5 || len(res.Skipped) != 1 || !strings.Contains(res.Skipped[0], "template.yaml") {
		t.Errorf("files %d, skipped %v; want 5 checked and template.yaml skipped", res.Files, res.Skipped)
	}
}

func TestNoUserMeansRoot(t *testing.T) {
	fs, err := CheckContainerfile("Containerfile", []byte("FROM a@sha256:1111111111111111111111111111111111111111111111111111111111111111\nUSER 1001\nFROM b:1.0@sha256:1111111111111111111111111111111111111111111111111111111111111111\nRUN true\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || fs[0].RuleID != "TL-CF-003" || fs[0].Line != 3 {
		t.Fatalf("got %+v, want TL-CF-003 at line 3 (final stage has no USER)", fs)
	}
}

func FuzzContainerfile(f *testing.F) {
	f.Add([]byte("FROM alpine\nRUN curl x | sh\nENV A=b C=d\nARG X\nUSER 0\nADD http://x /y\n"))
	f.Add([]byte("ARG B=x\nFROM ${B} AS s\nFROM s\nRUN <<EOF\nwget -O- u | sh\nEOF\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fs, err := CheckContainerfile("Containerfile", data)
		if err != nil {
			return
		}
		for _, x := range fs {
			if x.Line <= 0 || x.RuleID == "" {
				t.Fatalf("finding without line or rule: %+v", x)
			}
		}
	})
}

func FuzzYAML(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: Pod\nspec:\n  hostPID: true\n  containers: [{image: a:1, securityContext: {privileged: true}}]\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fs, err := CheckYAML("x.yaml", data)
		if err != nil {
			return
		}
		for _, x := range fs {
			if x.Line <= 0 || x.RuleID == "" {
				t.Fatalf("finding without line or rule: %+v", x)
			}
		}
	})
}
