package build

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParsePlan(t *testing.T) {
	for _, tc := range []struct {
		name      string
		file      string
		args      map[string]string
		target    string
		images    []string
		finalBase string
		stages    []string
	}{
		{
			name:   "scratch",
			file:   "FROM scratch\nCOPY a /a\n",
			stages: []string{"0"},
		},
		{
			name:      "arg-in-from",
			file:      "ARG REG=quay.io\nARG TAG\nFROM ${REG}/acme/base:${TAG:-1}\n",
			args:      map[string]string{"TAG": "2"},
			images:    []string{"quay.io/acme/base:2"},
			finalBase: "quay.io/acme/base:2",
			stages:    []string{"0"},
		},
		{
			name:      "arg-default",
			file:      "ARG REG=quay.io\nFROM $REG/acme/base:1\n",
			images:    []string{"quay.io/acme/base:1"},
			finalBase: "quay.io/acme/base:1",
			stages:    []string{"0"},
		},
		{
			name: "multi-stage-chain",
			file: strings.Join([]string{
				"FROM golang:1.26 AS build",
				"FROM build AS test",
				"FROM registry.example/tools/lint:3 AS lint",
				"FROM test",
				"COPY --from=lint /x /x",
				"COPY --from=docker.io/library/alpine:3 /etc/os-release /os",
				"RUN --mount=type=bind,from=quay.io/acme/assets:7,target=/assets true",
			}, "\n"),
			images:    []string{"golang:1.26", "registry.example/tools/lint:3", "docker.io/library/alpine:3", "quay.io/acme/assets:7"},
			finalBase: "golang:1.26",
			stages:    []string{"build", "test", "lint", "3"},
		},
		{
			name: "unused-stages-skipped",
			file: strings.Join([]string{
				"FROM example.com/never:1 AS unused",
				"FROM example.com/base:1 AS b",
				"FROM scratch",
				"COPY --from=b /x /x",
				"COPY --from=1 /y /y",
			}, "\n"),
			images: []string{"example.com/base:1"},
			stages: []string{"b", "2"},
		},
		{
			name: "target",
			file: strings.Join([]string{
				"FROM example.com/a:1 AS a",
				"FROM example.com/b:1 AS b",
				"FROM a AS c",
			}, "\n"),
			target:    "b",
			images:    []string{"example.com/b:1"},
			finalBase: "example.com/b:1",
			stages:    []string{"b"},
		},
		{
			name:      "digest",
			file:      "FROM example.com/a@sha256:" + strings.Repeat("ab", 32) + "\n",
			images:    []string{"example.com/a@sha256:" + strings.Repeat("ab", 32)},
			finalBase: "example.com/a@sha256:" + strings.Repeat("ab", 32),
			stages:    []string{"0"},
		},
		{
			name:      "case-insensitive-stage-names",
			file:      "FROM example.com/a:1 AS Builder\nFROM builder\n",
			images:    []string{"example.com/a:1"},
			finalBase: "example.com/a:1",
			stages:    []string{"builder", "1"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParsePlan("Containerfile", []byte(tc.file), tc.args, tc.target)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(p.Images, tc.images) {
				t.Errorf("Images = %q, want %q", p.Images, tc.images)
			}
			if p.FinalBase != tc.finalBase {
				t.Errorf("FinalBase = %q, want %q", p.FinalBase, tc.finalBase)
			}
			var names []string
			for _, s := range p.Stages {
				names = append(names, strings.ToLower(s.Name))
			}
			if !slices.Equal(names, tc.stages) {
				t.Errorf("stages = %q, want %q", names, tc.stages)
			}
		})
	}
}

func TestParsePlanErrors(t *testing.T) {
	for _, tc := range []struct {
		name, file, target, want string
	}{
		{"empty", "  \n", "", "is empty"},
		{"comments-only", "# nothing\n", "", "no instructions"},
		{"unknown-instruction", "FROM scratch\nFORM x\n", "", `line 2: unknown instruction "FORM"`},
		{"run-first", "RUN true\n", "", "first instruction must be FROM"},
		{"from-empty", "FROM\n", "", "FROM needs"},
		{"missing-target", "FROM scratch AS a\n", "nope", `no stage named "nope"`},
		{"unset-arg", "ARG BASE\nFROM ${BASE}\n", "", "FROM names no image"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePlan("Containerfile", []byte(tc.file), nil, tc.target)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "Containerfile") {
				t.Errorf("error %q: want it to name the file and say %q", err, tc.want)
			}
		})
	}
}

func TestFindContainerfile(t *testing.T) {
	dir := t.TempDir()
	if _, err := findContainerfile(dir, ""); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("empty context: %v", err)
	}
	must(t, os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644))
	if p, err := findContainerfile(dir, ""); err != nil || filepath.Base(p) != "Dockerfile" {
		t.Errorf("got %q, %v; want the Dockerfile", p, err)
	}
	must(t, os.WriteFile(filepath.Join(dir, "Containerfile"), []byte("FROM scratch\n"), 0o644))
	if p, err := findContainerfile(dir, ""); err != nil || filepath.Base(p) != "Containerfile" {
		t.Errorf("got %q, %v; want the Containerfile first", p, err)
	}
	must(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	if _, err := findContainerfile(dir, "sub"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory as containerfile: %v", err)
	}
	must(t, os.WriteFile(filepath.Join(dir, "sub", "Prod.containerfile"), []byte("FROM scratch\n"), 0o644))
	if p, err := findContainerfile(dir, "sub/Prod.containerfile"); err != nil || p != filepath.Join(dir, "sub", "Prod.containerfile") {
		t.Errorf("got %q, %v", p, err)
	}
}

// FuzzParsePlan feeds arbitrary Containerfiles to the parser: it must
// return a plan or an error, never panic, and a plan must be consistent.
func FuzzParsePlan(f *testing.F) {
	for _, s := range []string{
		"FROM scratch\nCOPY a /a\n",
		"ARG B=x\nFROM ${B}/y:1 AS b\nFROM b\nCOPY --from=b /a /a\n",
		"FROM a AS x\nFROM x AS y\nFROM y\nRUN --mount=type=bind,from=x,target=/t true\n",
		"FROM a\nRUN <<EOF\necho hi\nEOF\n",
		"# syntax=docker/dockerfile:1\nFROM a\nONBUILD RUN x\n",
		"FROM --platform=$BUILDPLATFORM a:1 AS b\nFROM 0\n",
		"FROM a\\\n:1\n",
	} {
		f.Add([]byte(s), "")
	}
	f.Add([]byte("FROM a AS t\nFROM b\n"), "t")
	f.Fuzz(func(t *testing.T, data []byte, target string) {
		p, err := ParsePlan("Containerfile", data, map[string]string{"B": "reg.example"}, target)
		if err != nil {
			if !strings.Contains(err.Error(), "Containerfile") {
				t.Errorf("error %q does not name the file", err)
			}
			return
		}
		if len(p.Stages) == 0 {
			t.Fatal("a plan without stages")
		}
		seen := map[string]bool{}
		for _, img := range p.Images {
			if img == "" || seen[img] {
				t.Errorf("Images %q: empty or duplicate entry", p.Images)
			}
			seen[img] = true
		}
		if p.FinalBase != "" && !seen[p.FinalBase] {
			t.Errorf("FinalBase %q is not among Images %q", p.FinalBase, p.Images)
		}
	})
}
