package validate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"github.com/trustline-dev/trustline/internal/catalog"
	"github.com/trustline-dev/trustline/internal/tekton"
)

// catalog checks catalog.yaml against the task and pipeline files found.
func (o *options) catalog(ctx context.Context, files []string) ([]tekton.Problem, error) {
	path := filepath.Join(o.root, catalog.FileName)
	c, err := catalog.Load(path)
	if errors.Is(err, os.ErrNotExist) {
		return []tekton.Problem{{Rule: "TL014", File: catalog.FileName, Field: "(file)", Message: "missing: list every task and pipeline version"}}, nil
	}
	if err != nil {
		return []tekton.Problem{{Rule: "TL014", File: catalog.FileName, Field: "(document)", Message: err.Error()}}, nil
	}
	var ps []tekton.Problem
	add := func(rule, field, format string, args ...any) {
		ps = append(ps, tekton.Problem{Rule: rule, File: catalog.FileName, Field: field, Message: fmt.Sprintf(format, args...)})
	}
	listed := map[string]bool{}
	for _, f := range files {
		rel := o.rel(f)
		l, ok := catalog.ParseLocation(rel)
		if !ok {
			continue
		}
		docs, _, err := tekton.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if len(docs) != 1 || docs[0].Object == nil {
			continue // reported by the file checks
		}
		version, images := "", []string(nil)
		switch obj := docs[0].Object.(type) {
		case *v1.Task:
			version, images = obj.Labels[catalog.VersionLabel], tekton.StepImages(obj)
		case *v1.Pipeline:
			version = obj.Labels[catalog.VersionLabel]
		default:
			continue
		}
		field := fmt.Sprintf("%ss[%s].versions[%s]", l.Kind, l.Name, version)
		v := c.Find(l.Kind, l.Name, version)
		if v == nil {
			add("TL014", fmt.Sprintf("%ss[%s]", l.Kind, l.Name), "version %s (%s) is not in the catalog", version, rel)
			continue
		}
		listed[v.Path] = true
		if v.Path != rel {
			add("TL014", field+".path", "is %q but the %s is at %q", v.Path, l.Kind, rel)
		}
		if got := sortedCopy(v.StepImages); strings.Join(got, ",") != strings.Join(images, ",") {
			add("TL014", field+".step_images", "%v differ from the images in %s: %v", got, rel, images)
		}
	}
	for _, kind := range []string{catalog.KindTask, catalog.KindPipeline} {
		seen := map[string]bool{}
		for _, e := range c.Entries(kind) {
			if seen[e.Name] {
				add("TL014", fmt.Sprintf("%ss[%s]", kind, e.Name), "listed twice")
			}
			seen[e.Name] = true
			for _, v := range e.Versions {
				field := fmt.Sprintf("%ss[%s].versions[%s]", kind, e.Name, v.Version)
				if _, _, _, ok := catalog.ParseSemver(v.Version); !ok {
					add("TL014", field+".version", "%q is not a MAJOR.MINOR.PATCH version", v.Version)
				}
				if v.ExpiresOn != "" && !validDate(v.ExpiresOn) {
					add("TL014", field+".expires_on", "%q is not a date (YYYY-MM-DD or RFC 3339)", v.ExpiresOn)
				}
				if listed[v.Path] {
					continue
				}
				if _, err := os.Stat(filepath.Join(o.root, v.Path)); err != nil {
					add("TL014", field+".path", "%s does not exist", v.Path)
				} else {
					add("TL014", field+".path", "%s does not hold %s version %s", v.Path, e.Name, v.Version)
				}
			}
		}
	}
	ps = append(ps, o.versionChanges(c, files)...)
	return ps, nil
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
