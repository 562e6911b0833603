// Package pac writes Pipelines-as-Code PipelineRuns for a user's
// repository: one for pull requests and one for pushes to the default
// branch, each running the trustline docker-build pipeline from its
// bundle, pinned by digest, with PaC's {{repo_url}} and {{revision}}
// variables and on-cel-expression triggers.
package pac

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"

	"github.com/trustline-dev/trustline/internal/catalog"
)

// Dir is where Pipelines-as-Code looks for PipelineRuns.
const Dir = ".tekton"

// DefaultPipeline is the pipeline the PipelineRuns run.
const DefaultPipeline = "docker-build"

// Options describe the repository and what to build.
type Options struct {
	// Name of the component: PipelineRun names and labels (a Kubernetes
	// name). Default: the repository directory's name.
	Name string
	// Image is the repository to push to, without a tag; pull requests
	// push on-pr-{{revision}}, pushes {{revision}}.
	Image string
	// PipelineBundle is the docker-build bundle, REPO:TAG@sha256:...
	PipelineBundle string
	// Pipeline is the pipeline's name in the bundle (default docker-build).
	Pipeline string
	// Branch is the branch pushes to which are built (default main).
	Branch string
	// PathContext, Dockerfile and Hermetic are the pipeline's params.
	PathContext string
	Dockerfile  string
	Hermetic    bool
	// PublicKeySecret holds cosign.pub for the policy gate (default
	// cosign-public-key); OSVClaim is the PVC with the OSV database
	// (default osv-db).
	PublicKeySecret string
	OSVClaim        string
}

var (
	k8sName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$`)
	pinned  = regexp.MustCompile(`^[^@\s]+@sha256:[0-9a-f]{64}$`)
	branch  = regexp.MustCompile(`^[A-Za-z0-9._/-]{1,200}$`)
)

func (o *Options) defaults() error {
	if o.Pipeline == "" {
		o.Pipeline = DefaultPipeline
	}
	if o.Branch == "" {
		o.Branch = "main"
	}
	if o.PathContext == "" {
		o.PathContext = "."
	}
	if o.PublicKeySecret == "" {
		o.PublicKeySecret = "cosign-public-key"
	}
	if o.OSVClaim == "" {
		o.OSVClaim = "osv-db"
	}
	var errs []error
	if !k8sName.MatchString(o.Name) {
		errs = append(errs, fmt.Errorf("name %q: use lowercase letters, digits and dashes (at most 42), e.g. --name my-app", o.Name))
	}
	if o.Image == "" || strings.ContainsAny(o.Image, " @\t\n\"'") || strings.Contains(o.Image[strings.LastIndex(o.Image, "/")+1:], ":") {
		errs = append(errs, fmt.Errorf("image %q: give a repository without tag or digest, e.g. quay.io/acme/my-app", o.Image))
	}
	if !pinned.MatchString(o.PipelineBundle) {
		errs = append(errs, fmt.Errorf("pipeline bundle %q is not pinned by digest (REPO:TAG@sha256:...)", o.PipelineBundle))
	}
	if !branch.MatchString(o.Branch) || strings.Contains(o.Branch, "..") {
		errs = append(errs, fmt.Errorf("branch %q is not a branch name", o.Branch))
	}
	return errors.Join(errs...)
}

// BundleFromCatalog returns the newest published bundle of a pipeline.
func BundleFromCatalog(c *catalog.Catalog, pipeline string) (string, error) {
	for _, e := range c.Pipelines {
		if e.Name != pipeline {
			continue
		}
		if v := e.Latest(); v != nil && v.Bundle != "" {
			return v.Bundle, nil
		}
		return "", fmt.Errorf("pipeline %s is not published yet: run `trustline catalog publish`, or pass --pipeline-bundle", pipeline)
	}
	return "", fmt.Errorf("pipeline %s is not in the catalog", pipeline)
}

// File is one generated PipelineRun.
type File struct {
	Path    string // relative to the repository root
	Content []byte
}

// Generate returns the pull-request and push PipelineRuns.
func Generate(o Options) ([]File, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	var out []File
	for _, ev := range []struct{ event, suffix, tag string }{
		{"pull_request", "pull-request", "on-pr-{{revision}}"},
		{"push", "push", "{{revision}}"},
	} {
		var b strings.Builder
		err := runTemplate.Execute(&b, map[string]any{
			"Name":      o.Name + "-on-" + ev.suffix,
			"Component": o.Name,
			"Event":     ev.event,
			"CEL":       q(fmt.Sprintf("event == %q && target_branch == %q", ev.event, o.Branch)),
			"Image":     q(o.Image + ":" + ev.tag),
			"Bundle":    q(o.PipelineBundle),
			"Pipeline":  q(o.Pipeline),
			"Context":   q(o.PathContext),
			"File":      q(o.Dockerfile),
			"Hermetic":  q(fmt.Sprint(o.Hermetic)),
			"KeySecret": q(o.PublicKeySecret),
			"OSVClaim":  q(o.OSVClaim),
			"MaxKeep":   q("3"),
		})
		if err != nil {
			return nil, err
		}
		out = append(out, File{Path: filepath.ToSlash(filepath.Join(Dir, o.Name+"-"+ev.suffix+".yaml")), Content: []byte(b.String())})
	}
	return out, nil
}

// q quotes a value as a YAML double-quoted scalar (JSON strings are).
func q(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // keep && readable
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

// Write writes the files under root. An existing file is an error unless
// force is set; nothing is written if any file would be refused.
func Write(root string, files []File, force bool) ([]string, error) {
	if !force {
		for _, f := range files {
			if _, err := os.Stat(filepath.Join(root, f.Path)); err == nil {
				return nil, fmt.Errorf("%s exists: pass --force to overwrite it", f.Path)
			}
		}
	}
	var written []string
	for _, f := range files {
		p := filepath.Join(root, f.Path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return written, err
		}
		if err := os.WriteFile(p, f.Content, 0o644); err != nil {
			return written, err
		}
		written = append(written, f.Path)
	}
	return written, nil
}

var runTemplate = template.Must(template.New("run").Parse(`# Generated by trustline init. Pipelines-as-Code runs it on every
# {{.Event}} event that matches the on-cel-expression below. Keep the
# bundle current with: trustline catalog outdated --fix .tekton/*.yaml
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata:
  name: {{.Name}}
  labels:
    app.kubernetes.io/name: {{.Component}}
    app.kubernetes.io/managed-by: pipelinesascode.tekton.dev
  annotations:
    pipelinesascode.tekton.dev/on-cel-expression: {{.CEL}}
    pipelinesascode.tekton.dev/max-keep-runs: {{.MaxKeep}}
    pipelinesascode.tekton.dev/cancel-in-progress: "true"
spec:
  params:
    - name: git-url
      value: "{{"{{"}}repo_url{{"}}"}}"
    - name: revision
      value: "{{"{{"}}revision{{"}}"}}"
    - name: output-image
      value: {{.Image}}
    - name: path-context
      value: {{.Context}}
    - name: dockerfile
      value: {{.File}}
    - name: hermetic
      value: {{.Hermetic}}
  pipelineRef:
    resolver: bundles
    params:
      - name: bundle
        value: {{.Bundle}}
      - name: name
        value: {{.Pipeline}}
      - name: kind
        value: pipeline
  workspaces:
    - name: source
      volumeClaimTemplate:
        spec:
          accessModes: [ReadWriteOnce]
          resources:
            requests:
              storage: 1Gi
    - name: osv-db
      persistentVolumeClaim:
        claimName: {{.OSVClaim}}
    - name: keys
      secret:
        secretName: {{.KeySecret}}
`))

// NameFrom turns a directory name into a component name: lowercase, runs
// of other characters as one dash, at most 42 characters.
func NameFrom(dir string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(dir) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	s := b.String()
	if len(s) > 42 {
		s = s[:42]
	}
	return strings.Trim(s, "-")
}
