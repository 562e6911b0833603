package validate

import (
	"fmt"
	"os"
	"path/filepath"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"github.com/trustline-dev/trustline/internal/catalog"
	"github.com/trustline-dev/trustline/internal/tekton"
)

// versionChanges catches a task or pipeline whose YAML changed while its
// version did not: catalog.yaml records each version's content digest
// (trustline catalog sync / publish), and once a version is published a
// different digest under the same version would give users different
// behaviour under the same version. It also requires the newest CHANGELOG.md entry to be the
// current version, so a bump comes with its notes.
func (o *options) versionChanges(c *catalog.Catalog, files []string) []tekton.Problem {
	var ps []tekton.Problem
	for _, f := range files {
		rel := o.rel(f)
		l, ok := catalog.ParseLocation(rel)
		if !ok {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			continue // reported by the file checks
		}
		docs, problems := tekton.Parse(rel, b)
		if len(problems) > 0 || len(docs) != 1 || docs[0].Object == nil {
			continue
		}
		var version string
		switch obj := docs[0].Object.(type) {
		case *v1.Task:
			version = obj.Labels[catalog.VersionLabel]
		case *v1.Pipeline:
			version = obj.Labels[catalog.VersionLabel]
		default:
			continue
		}
		v := c.Find(l.Kind, l.Name, version)
		if v == nil || v.Path != rel {
			continue // the catalog check reports it
		}
		got, err := catalog.ContentDigest(b)
		if err != nil {
			continue
		}
		// Only a published version is frozen: until trustline catalog
		// publish has pushed it, a version may still change (catalog sync
		// records the new content).
		if len(v.Published) > 0 && v.ContentDigest != "" && v.ContentDigest != got {
			ps = append(ps, tekton.Problem{Rule: "TL015", File: rel, Field: "metadata.labels." + catalog.VersionLabel,
				Message: fmt.Sprintf("%s changed but its version is still %s (catalog.yaml recorded %s, the file is now %s): "+
					"bump the version, add a `## <new version>` entry to CHANGELOG.md, then run `trustline catalog sync`",
					filepath.Base(rel), version, v.ContentDigest, got)})
		}
		cl, err := os.ReadFile(filepath.Join(filepath.Dir(f), catalog.ChangelogFile))
		if err != nil {
			continue // reported by the changelog check
		}
		if entries := catalog.ParseChangelog(cl); len(entries) > 0 && entries[0].Version != version {
			ps = append(ps, tekton.Problem{Rule: "TL013", File: filepath.ToSlash(filepath.Join(filepath.Dir(rel), catalog.ChangelogFile)), Field: "## " + entries[0].Version,
				Message: fmt.Sprintf("the newest entry must be the current version %s (newest first)", version)})
		}
	}
	return ps
}
