package build

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/openshift/imagebuilder"
	"github.com/openshift/imagebuilder/dockerfile/parser"
)

// scratch is the reserved name of the empty base image.
const scratch = "scratch"

// Plan is what the build step learns from a Containerfile before it runs
// it: the stages that lead to the target, the registry images they read
// (which the step pulls before a hermetic build leaves the network), and
// the image the final stage is rooted at (for the base-image annotations).
type Plan struct {
	// Stages are the stages the target needs, in file order.
	Stages []Stage
	// Images are the registry images those stages read (FROM, COPY
	// --from, RUN --mount=from=), without duplicates, in first-use order.
	Images []string
	// FinalBase is the image the target stage is built on, following
	// stage-to-stage FROM lines back to an image; "" when it is scratch.
	FinalBase string
}

// Stage is one FROM section.
type Stage struct {
	Index int
	Name  string
	// Base is the FROM argument after ARG expansion.
	Base string
	// BaseStage is the index of the earlier stage Base names, or -1 when
	// Base is an image (or scratch).
	BaseStage int
}

// findContainerfile resolves --containerfile. An empty name means
// Containerfile, then Dockerfile, in the context directory. A relative
// name is looked up in the context directory first and then in the
// working directory, as Konflux's buildah task does, so both
// "--context app --containerfile Containerfile" and
// "--containerfile app/Containerfile" work.
func findContainerfile(contextDir, name string) (string, error) {
	if name == "" {
		for _, n := range []string{"Containerfile", "Dockerfile"} {
			p := filepath.Join(contextDir, n)
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				return p, nil
			}
		}
		return "", fmt.Errorf("no Containerfile or Dockerfile in context directory %s (give one with --containerfile)", contextDir)
	}
	candidates := []string{name}
	if !filepath.IsAbs(name) {
		candidates = []string{filepath.Join(contextDir, name), name}
	}
	for _, p := range candidates {
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		if !fi.Mode().IsRegular() {
			return "", fmt.Errorf("containerfile %s is not a regular file", p)
		}
		return filepath.Abs(p)
	}
	return "", fmt.Errorf("containerfile %s: not found (looked in %s)", name, strings.Join(candidates, " and "))
}

// ParsePlan parses a Containerfile (data, named name in messages) the way
// buildah will, with the given build arguments and target stage, and
// returns the stages and images the build needs. It is fed untrusted
// input and only reads it.
func ParsePlan(name string, data []byte, args map[string]string, target string) (plan *Plan, err error) {
	// imagebuilder's parser has panicked on malformed input before; a
	// Containerfile is untrusted, so turn a panic into an error naming it.
	defer func() {
		if r := recover(); r != nil {
			plan, err = nil, fmt.Errorf("containerfile %s: cannot parse: %v", name, r)
		}
	}()
	stages, err := parseStages(name, data, args, target)
	if err != nil {
		return nil, err
	}
	g, err := newStageGraph(name, stages)
	if err != nil {
		return nil, err
	}
	return g.plan(g.needed()), nil
}

// parseStages parses the Containerfile and checks it enough to fail
// before a build would, then cuts the stages off after the target.
func parseStages(name string, data []byte, args map[string]string, target string) (imagebuilder.Stages, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("containerfile %s is empty", name)
	}
	root, err := imagebuilder.ParseDockerfile(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("containerfile %s: %w", name, err)
	}
	if err := checkInstructions(name, root); err != nil {
		return nil, err
	}
	stages, err := imagebuilder.NewStages(root, imagebuilder.NewBuilder(args))
	if err != nil {
		return nil, fmt.Errorf("containerfile %s: %w", name, err)
	}
	if len(stages) == 0 {
		return nil, fmt.Errorf("containerfile %s: no FROM instruction", name)
	}
	if target != "" {
		through, ok := stages.ThroughTarget(target)
		if !ok {
			return nil, fmt.Errorf("containerfile %s: no stage named %q (--target)", name, target)
		}
		stages = through
	}
	return stages, nil
}

// stageGraph is every stage up to the target with what it depends on,
// before the stages the target does not need are dropped.
type stageGraph struct {
	all []Stage
	// readsStages[i] and readsImages[i] list what stage i reads besides
	// its base: stage indexes or image names.
	readsStages [][]int
	readsImages [][]string
}

// newStageGraph resolves each stage's base and --from references to
// earlier stages or to images.
func newStageGraph(name string, stages imagebuilder.Stages) (*stageGraph, error) {
	g := &stageGraph{
		all:         make([]Stage, len(stages)),
		readsStages: make([][]int, len(stages)),
		readsImages: make([][]string, len(stages)),
	}
	for i, st := range stages {
		base, err := st.Builder.From(st.Node)
		if err != nil {
			return nil, fmt.Errorf("containerfile %s: stage %d (%s): %w", name, i+1, st.Name, err)
		}
		if base == "" {
			return nil, fmt.Errorf("containerfile %s: stage %d (%s): FROM names no image", name, i+1, st.Name)
		}
		g.all[i] = Stage{Index: i, Name: st.Name, Base: base, BaseStage: stageRef(stages[:i], base)}
		env := stageEnv(st.Builder)
		for _, ref := range fromRefs(st.Node) {
			v, err := imagebuilder.ProcessWord(ref, env)
			if err != nil {
				return nil, fmt.Errorf("containerfile %s: stage %d (%s): --from=%s: %w", name, i+1, st.Name, ref, err)
			}
			if v == "" {
				continue
			}
			if j := stageRef(stages[:i], v); j >= 0 {
				g.readsStages[i] = append(g.readsStages[i], j)
			} else if !strings.EqualFold(v, scratch) {
				g.readsImages[i] = append(g.readsImages[i], v)
			}
		}
	}
	return g, nil
}

// needed walks back from the target: buildah skips stages it does not
// need, and so does the pull list (an unused stage's base need not exist).
func (g *stageGraph) needed() []bool {
	need := make([]bool, len(g.all))
	var mark func(int)
	mark = func(i int) {
		if need[i] {
			return
		}
		need[i] = true
		if b := g.all[i].BaseStage; b >= 0 {
			mark(b)
		}
		for _, j := range g.readsStages[i] {
			mark(j)
		}
	}
	mark(len(g.all) - 1)
	return need
}

// plan keeps the needed stages and the images they read, and follows the
// target's FROM lines back to the image it is rooted at.
func (g *stageGraph) plan(need []bool) *Plan {
	plan := &Plan{}
	seen := map[string]bool{}
	addImage := func(img string) {
		if !seen[img] {
			seen[img] = true
			plan.Images = append(plan.Images, img)
		}
	}
	for i, st := range g.all {
		if !need[i] {
			continue
		}
		plan.Stages = append(plan.Stages, st)
		if st.BaseStage < 0 && !strings.EqualFold(st.Base, scratch) {
			addImage(st.Base)
		}
		for _, img := range g.readsImages[i] {
			addImage(img)
		}
	}
	final := g.all[len(g.all)-1]
	for final.BaseStage >= 0 {
		final = g.all[final.BaseStage]
	}
	if !strings.EqualFold(final.Base, scratch) {
		plan.FinalBase = final.Base
	}
	return plan
}

// knownInstructions are the instructions buildah executes. imagebuilder's
// parser accepts any word, and buildah would only fail on an unknown one
// when it reaches it, possibly after a long RUN; check them all up front.
var knownInstructions = map[string]bool{
	"add": true, "arg": true, "cmd": true, "copy": true, "entrypoint": true,
	"env": true, "expose": true, "from": true, "healthcheck": true,
	"label": true, "maintainer": true, "onbuild": true, "run": true,
	"shell": true, "stopsignal": true, "user": true, "volume": true,
	"workdir": true,
}

func checkInstructions(name string, root *parser.Node) error {
	for _, n := range root.Children {
		if !knownInstructions[strings.ToLower(n.Value)] {
			return fmt.Errorf("containerfile %s: line %d: unknown instruction %q", name, n.StartLine, strings.ToUpper(n.Value))
		}
		if strings.EqualFold(n.Value, "from") && n.Next == nil {
			return fmt.Errorf("containerfile %s: line %d: FROM needs an image or stage name", name, n.StartLine)
		}
	}
	if len(root.Children) == 0 {
		return errors.New("containerfile " + name + ": no instructions")
	}
	if first := root.Children[0].Value; !strings.EqualFold(first, "from") && !strings.EqualFold(first, "arg") {
		return fmt.Errorf("containerfile %s: line %d: the first instruction must be FROM (or ARG), not %s", name, root.Children[0].StartLine, strings.ToUpper(first))
	}
	return nil
}

// stageRef returns the index of the stage among earlier that ref names
// (by name or position), or -1.
func stageRef(earlier imagebuilder.Stages, ref string) int {
	for i := len(earlier) - 1; i >= 0; i-- {
		if strings.EqualFold(earlier[i].Name, ref) {
			return i
		}
	}
	if n, err := strconv.Atoi(ref); err == nil && n >= 0 && n < len(earlier) {
		return n
	}
	return -1
}

// fromRefs returns the unexpanded --from= values of COPY and ADD lines and
// the from= fields of RUN --mount flags in a stage.
func fromRefs(stage *parser.Node) []string {
	var refs []string
	for _, n := range stage.Children {
		switch strings.ToLower(n.Value) {
		case "copy", "add":
			for _, f := range n.Flags {
				if v, ok := strings.CutPrefix(f, "--from="); ok {
					refs = append(refs, v)
				}
			}
		case "run":
			for _, f := range n.Flags {
				m, ok := strings.CutPrefix(f, "--mount=")
				if !ok {
					continue
				}
				for field := range strings.SplitSeq(m, ",") {
					if v, ok := strings.CutPrefix(field, "from="); ok {
						refs = append(refs, v)
					}
				}
			}
		}
	}
	return refs
}

// stageEnv is the ARG environment a stage's flags are expanded in: build
// arguments first (the first match wins), then the ARGs before the first
// FROM, then builtin defaults.
func stageEnv(b *imagebuilder.Builder) []string {
	var env []string
	for _, m := range []map[string]string{b.Args, b.HeadingArgs, b.BuiltinArgDefaults} {
		for k, v := range m {
			env = append(env, k+"="+v)
		}
	}
	return env
}
