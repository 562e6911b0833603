// Package outdated finds the task and pipeline bundle references in a
// user's Pipeline, PipelineRun or TaskRun files that are not the newest the
// catalog offers, are deprecated, or will expire from policy's
// trusted_tasks, says what changed since (from each task's CHANGELOG.md),
// and can rewrite them.
package outdated

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Ref is a bundle reference of this library's shape:
// REPO/<kind>-<name>[:TAG]@sha256:<hex>.
type Ref struct {
	Repo   string // REPO/<kind>-<name>
	Kind   string // task or pipeline
	Name   string
	Tag    string // may be empty
	Digest string // sha256:<hex>
}

func (r Ref) String() string {
	s := r.Repo
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	return s + "@" + r.Digest
}

var (
	refPattern  = regexp.MustCompile(`[A-Za-z0-9][A-Za-z0-9._:/-]*/(?:task|pipeline)-[a-z0-9][a-z0-9-]*(?::[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?@sha256:[0-9a-f]{64}`)
	hostPath    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*(?::[0-9]+)?(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)+$`)
	repoLast    = regexp.MustCompile(`^(task|pipeline)-([a-z0-9][a-z0-9-]*)$`)
	tagPattern  = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)
	digestShape = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
)

// ParseRef parses one bundle reference. It accepts only references this
// library publishes (a repository whose last path element is task-<name>
// or pipeline-<name>) pinned by a sha256 digest.
func ParseRef(s string) (Ref, error) {
	if len(s) > 1024 {
		return Ref{}, errors.New("reference longer than 1024 characters")
	}
	repoTag, digest, ok := strings.Cut(s, "@")
	if !ok {
		return Ref{}, fmt.Errorf("%q is not pinned by digest (REPO:TAG@sha256:...)", s)
	}
	if !digestShape.MatchString(digest) {
		return Ref{}, fmt.Errorf("%q: digest %q is not sha256:<64 hex>", s, digest)
	}
	repo, tag := repoTag, ""
	if i := strings.LastIndex(repoTag, ":"); i > strings.LastIndex(repoTag, "/") {
		repo, tag = repoTag[:i], repoTag[i+1:]
		if !tagPattern.MatchString(tag) {
			return Ref{}, fmt.Errorf("%q: tag %q is not a valid tag", s, tag)
		}
	}
	if !hostPath.MatchString(repo) {
		return Ref{}, fmt.Errorf("%q: %q is not a repository", s, repo)
	}
	last := repo[strings.LastIndex(repo, "/")+1:]
	m := repoLast.FindStringSubmatch(last)
	if m == nil {
		return Ref{}, fmt.Errorf("%q: repository %q is not a task-<name> or pipeline-<name> bundle", s, repo)
	}
	return Ref{Repo: repo, Kind: m[1], Name: m[2], Tag: tag, Digest: digest}, nil
}

// Found is a reference found in a file.
type Found struct {
	Ref
	Line, Column int
	Text         string // as written
}

// Scan finds every bundle reference in a file's text, wherever it is (a
// bundles resolver param, a legacy taskRef.bundle, a PaC annotation), with
// its line and column.
func Scan(content []byte) []Found {
	var out []Found
	for i, line := range strings.Split(string(content), "\n") {
		for _, loc := range refPattern.FindAllStringIndex(line, -1) {
			text := line[loc[0]:loc[1]]
			r, err := ParseRef(text)
			if err != nil {
				continue
			}
			out = append(out, Found{Ref: r, Line: i + 1, Column: loc[0] + 1, Text: text})
		}
	}
	return out
}
