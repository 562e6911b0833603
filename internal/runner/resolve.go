package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"github.com/trustline-dev/trustline/internal/bundle"
	"github.com/trustline-dev/trustline/internal/catalog"
	"github.com/trustline-dev/trustline/internal/remoteopt"
	"github.com/trustline-dev/trustline/internal/tekton"
)

// ResolvedTask is a Task found for a taskRef.
type ResolvedTask struct {
	Task *v1.Task
	// RefSource is where it came from, as Tekton records it in
	// status.provenance.refSource (nil for a local file).
	RefSource *v1.RefSource
	// From says where it was read, for people (a file or a bundle).
	From string
}

// TaskResolver finds the Task a pipeline task's taskRef names.
type TaskResolver interface {
	ResolveTask(ctx context.Context, ref *v1.TaskRef) (*ResolvedTask, error)
}

// Resolver resolves taskRefs as the local runner supports them: a plain
// `name` from a local task library directory (tasks/<name>/<version>/
// <name>.yaml, newest version), and `resolver: bundles` from the
// registry through internal/bundle, exactly as Tekton's bundles resolver
// reads a bundle. Any other resolver (git, hub, cluster, http) is refused.
type Resolver struct {
	// TasksDir is the local task library ("" disables plain names).
	TasksDir string
	// Remote are go-containerregistry options for bundles (credentials,
	// plain HTTP for loopback registries: see internal/remoteopt).
	Remote []remote.Option
	// Insecure allows plain HTTP for bundles on any registry.
	Insecure bool
}

// ResolveTask implements TaskResolver.
func (r *Resolver) ResolveTask(ctx context.Context, ref *v1.TaskRef) (*ResolvedTask, error) {
	switch {
	case ref == nil:
		return nil, fmt.Errorf("no taskRef")
	case ref.Resolver == "bundles":
		return r.bundle(ctx, ref)
	case ref.Resolver != "":
		return nil, fmt.Errorf("taskRef.resolver %q: not supported by the local runner (only bundles and local task names)", ref.Resolver)
	case ref.Name != "":
		return r.local(ctx, ref.Name)
	}
	return nil, fmt.Errorf("taskRef without name or resolver")
}

func (r *Resolver) local(ctx context.Context, taskName string) (*ResolvedTask, error) {
	if r.TasksDir == "" {
		return nil, fmt.Errorf("taskRef.name %q: no local task library (give --tasks-dir)", taskName)
	}
	versions, err := os.ReadDir(filepath.Join(r.TasksDir, taskName))
	if err != nil {
		return nil, fmt.Errorf("taskRef.name %q: not in the task library %s", taskName, r.TasksDir)
	}
	var found []string
	for _, v := range versions {
		p := filepath.Join(r.TasksDir, filepath.FromSlash(catalog.DefinitionPath(taskName, v.Name())))
		if _, err := os.Stat(p); err == nil && v.IsDir() {
			found = append(found, v.Name())
		}
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("taskRef.name %q: no %s/%s/<version>/%s.yaml", taskName, r.TasksDir, taskName, taskName)
	}
	sort.Slice(found, func(i, j int) bool { return versionLess(found[i], found[j]) })
	p := filepath.Join(r.TasksDir, filepath.FromSlash(catalog.DefinitionPath(taskName, found[len(found)-1])))
	t, err := tekton.LoadTask(ctx, p)
	if err != nil {
		return nil, err
	}
	return &ResolvedTask{Task: t, From: p}, nil
}

func (r *Resolver) bundle(ctx context.Context, ref *v1.TaskRef) (*ResolvedTask, error) {
	var ref0, entry, kind string
	for _, p := range ref.Params {
		switch p.Name {
		case "bundle":
			ref0 = p.Value.StringVal
		case "name":
			entry = p.Value.StringVal
		case "kind":
			kind = p.Value.StringVal
		default:
			return nil, fmt.Errorf("taskRef bundles param %q: not a bundles resolver param (bundle, name, kind)", p.Name)
		}
	}
	if kind == "" {
		kind = "task"
	}
	if ref0 == "" || entry == "" {
		return nil, fmt.Errorf("taskRef bundles: params bundle and name are required")
	}
	if !strings.EqualFold(kind, "task") {
		return nil, fmt.Errorf("taskRef bundles: kind %q: a pipeline task needs a task", kind)
	}
	var nopts []name.Option
	if r.Insecure {
		nopts = append(nopts, name.Insecure)
	}
	nref, err := name.ParseReference(ref0, nopts...)
	if err != nil {
		return nil, fmt.Errorf("taskRef bundles: bundle %q: %w", ref0, err)
	}
	ropts := r.Remote
	if ropts == nil {
		ropts = remoteopt.Options(ctx)
	}
	docs, digest, err := bundle.Documents(ctx, ref0, nref, ropts, func(rs bundle.Resource) bool {
		return strings.EqualFold(rs.Kind, "task") && rs.Name == entry
	})
	if err != nil {
		return nil, err
	}
	if len(docs) > 0 {
		if len(docs) != 1 || docs[0].Task() == nil {
			return nil, fmt.Errorf("bundle %s: entry %s is not one Task", ref0, entry)
		}
		if ps := docs[0].Validate(ctx); len(ps) > 0 {
			return nil, ps
		}
		return &ResolvedTask{Task: docs[0].Task(), RefSource: bundle.RefSource(digest, entry), From: digest.String()}, nil
	}
	return nil, fmt.Errorf("bundle %s has no task %q", ref0, entry)
}

// versionLess orders version directory names ("0.1" < "0.10" < "1.0")
// numerically, part by part.
func versionLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		na, ea := strconv.Atoi(pa[i])
		nb, eb := strconv.Atoi(pb[i])
		if ea != nil || eb != nil {
			if pa[i] != pb[i] {
				return pa[i] < pb[i]
			}
			continue
		}
		if na != nb {
			return na < nb
		}
	}
	return len(pa) < len(pb)
}
