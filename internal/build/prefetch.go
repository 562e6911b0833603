package build

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/openshift/imagebuilder/dockerfile/parser"
	"go.podman.io/buildah/pkg/parse"
)

// PrefetchMountPath is where every RUN instruction sees the prefetched
// dependencies (the prefetch step's output directory). The prefetch step
// writes its prefetch.env for this path.
const PrefetchMountPath = "/prefetch"

// prefetchEnvFile is the prefetch step's list of the environment variables
// that point package managers at PrefetchMountPath.
const prefetchEnvFile = "prefetch.env"

// WithPrefetchDir makes the dependencies the prefetch step fetched into
// dir available to every RUN instruction: dir is mounted read-write at
// PrefetchMountPath (the go command extracts modules next to their zips),
// and the variables of dir/prefetch.env (GOMODCACHE, GOPROXY=off,
// npm_config_cache…) are set for RUN instructions only, never in the
// image's config. A build argument of the same name overrides one. When
// dir is inside the build context it is left out of the context, so COPY
// never puts it in the image. A dir that does not exist means nothing was
// prefetched (a pipeline whose prefetch input is empty): the build runs
// without it. Default: no prefetched dependencies.
func WithPrefetchDir(dir string) Option {
	return func(o *options) error { o.prefetchDir = dir; return nil }
}

var envNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// readPrefetchEnv reads "export KEY=VALUE" (or "KEY=VALUE") lines;
// comments and blank lines are skipped. Values are taken literally.
func readPrefetchEnv(p string) ([]string, map[string]string, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, nil, fmt.Errorf("prefetched dependencies: %w (is the directory the prefetch step's output?)", err)
	}
	vals := map[string]string{}
	var names []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		if !ok || !envNameRe.MatchString(k) {
			return nil, nil, fmt.Errorf("%s:%d: want KEY=VALUE, got %q", p, n, line)
		}
		if _, dup := vals[k]; !dup {
			names = append(names, k)
		}
		vals[k] = v
	}
	return names, vals, sc.Err()
}

// applyPrefetch adds the mount, the RUN-only environment and the context
// exclusion of the prefetched dependencies to spec. The environment
// reaches RUN instructions as build arguments that a copy of the
// Containerfile (written in tmp) declares after every FROM: buildah gives
// declared arguments to RUN instructions and keeps them out of the image
// config, where ENV would persist.
func (o *options) applyPrefetch(spec *buildSpec, tmp string) error {
	if o.prefetchDir == "" {
		return nil
	}
	dir, err := filepath.Abs(o.prefetchDir)
	if err != nil {
		return err
	}
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		fmt.Fprintf(o.progress, "build: no prefetched dependencies at %s: building without them\n", dir)
		return nil
	}
	names, vals, err := readPrefetchEnv(filepath.Join(dir, prefetchEnvFile))
	if err != nil {
		return err
	}
	spec.TransientMounts = append(spec.TransientMounts, dir+":"+PrefetchMountPath+":rw")
	args := map[string]string{}
	for k, v := range vals {
		args[k] = v
	}
	for k, v := range spec.Args {
		args[k] = v
	}
	spec.Args = args

	original, err := os.ReadFile(spec.Containerfile)
	if err != nil {
		return fmt.Errorf("containerfile: %w", err)
	}
	rewritten, err := declareArgs(spec.Containerfile, original, names)
	if err != nil {
		return err
	}
	excludes, _, err := parse.ContainerIgnoreFile(spec.ContextDir, "", []string{spec.Containerfile})
	if err != nil {
		return fmt.Errorf("ignore file: %w", err)
	}
	if rel, err := filepath.Rel(spec.ContextDir, dir); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
		if rel == "." {
			return fmt.Errorf("prefetch directory %s is the build context itself; give it a directory of its own", dir)
		}
		excludes = append(slices.Clone(excludes), filepath.ToSlash(rel))
	}
	spec.Excludes = excludes
	p := filepath.Join(tmp, "Containerfile.prefetch")
	if err := os.WriteFile(p, rewritten, 0o600); err != nil {
		return err
	}
	spec.Containerfile = p
	fmt.Fprintf(o.progress, "build: prefetched dependencies from %s at %s in every RUN (%s)\n", dir, PrefetchMountPath, strings.Join(names, " "))
	return nil
}

// declareArgs inserts "ARG NAME" lines after every FROM instruction.
func declareArgs(name string, data []byte, names []string) ([]byte, error) {
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("containerfile %s: %w", name, err)
	}
	after := map[int]bool{}
	for _, n := range res.AST.Children {
		if strings.EqualFold(n.Value, "from") {
			after[n.EndLine] = true
		}
	}
	var decl strings.Builder
	for _, n := range names {
		decl.WriteString("ARG " + n + "\n")
	}
	var out bytes.Buffer
	lines := strings.SplitAfter(string(data), "\n")
	for i, l := range lines {
		out.WriteString(l)
		if after[i+1] {
			if !strings.HasSuffix(l, "\n") {
				out.WriteString("\n")
			}
			out.WriteString(decl.String())
		}
	}
	return out.Bytes(), nil
}
