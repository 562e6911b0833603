package misconfig

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/trustline-dev/trustline/internal/scan/finding"
)

var (
	pipeToShell  = regexp.MustCompile(`(?i)\b(curl|wget)\b[^|;&]*\|\s*(sudo\s+)?(\S*/)?(ba|z|da|k|a)?sh\b`)
	secretName   = regexp.MustCompile(`(?i)(passw(or)?d|secret|token|api[_-]?key|private[_-]?key|access[_-]?key|credential|auth)`)
	secretValue  = regexp.MustCompile(`(AKIA[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY-----|gh[pousr]_[A-Za-z0-9]{36}|xox[baprs]-[A-Za-z0-9-]{10,})`)
	variableOnly = regexp.MustCompile(`^\$\{?[A-Za-z_][A-Za-z0-9_]*\}?$`)
)

// CheckContainerfile checks one Containerfile; name is reported as the
// file.
func CheckContainerfile(name string, data []byte) ([]finding.Misconfiguration, error) {
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("containerfile %s: %w", name, err)
	}
	c := &containerfileCheck{name: name, stages: map[string]bool{}, args: map[string]string{}}
	for _, n := range res.AST.Children {
		switch strings.ToLower(n.Value) {
		case "from":
			c.enterStage(n)
		case "arg":
			c.checkArg(n)
		case "env":
			c.checkEnv(n)
		case "user":
			if n.Next != nil {
				c.lastUser, c.lastUserLine = expand(n.Next.Value, c.args), n.StartLine
			}
		case "add":
			c.checkAdd(n)
		case "run":
			c.checkRun(n)
		}
	}
	c.checkFinalUser()
	return c.out, nil
}

// containerfileCheck is what checking a Containerfile has found so far and
// what it must remember from earlier instructions.
type containerfileCheck struct {
	name   string
	out    []finding.Misconfiguration
	stages map[string]bool
	args   map[string]string // global ARG defaults, for FROM ${BASE}
	// inStage is set from the first FROM on: an ARG before it is global.
	inStage bool
	// The last stage's FROM and USER lines: its user is the image's.
	lastFrom     int
	lastUser     string
	lastUserLine int
}

// enterStage starts the stage a FROM opens and checks its base image.
func (c *containerfileCheck) enterStage(n *parser.Node) {
	if n.Next == nil {
		return
	}
	c.inStage = true
	c.lastFrom, c.lastUser, c.lastUserLine = n.StartLine, "", 0
	image := expand(n.Next.Value, c.args)
	c.out = append(c.out, checkFrom(c.name, n.StartLine, image, c.stages)...)
	// A later FROM may name this stage; that is not a base image.
	if alias := n.Next.Next; alias != nil && strings.EqualFold(alias.Value, "as") && alias.Next != nil {
		c.stages[strings.ToLower(alias.Next.Value)] = true
	}
}

func (c *containerfileCheck) checkArg(n *parser.Node) {
	name := c.name
	for a := n.Next; a != nil; a = a.Next {
		k, v, hasValue := strings.Cut(a.Value, "=")
		if !c.inStage && hasValue {
			c.args[k] = v
		}
		if secretName.MatchString(k) || secretValue.MatchString(v) {
			what := "a build argument"
			if hasValue && v != "" {
				what = "a build argument with a default value"
			}
			c.out = append(c.out, newFinding("TL-CF-006", name, n.StartLine,
				fmt.Sprintf("%s:%d: ARG %s looks like a secret passed as %s; it is recorded in the image history", name, n.StartLine, k, what)))
		}
	}
}

func (c *containerfileCheck) checkEnv(n *parser.Node) {
	name := c.name
	for k := n.Next; k != nil && k.Next != nil; k = k.Next.Next {
		v := k.Next.Value
		if v == "" || variableOnly.MatchString(strings.Trim(v, `"'`)) {
			continue // ENV TOKEN=$TOKEN copies an ARG (reported there)
		}
		if secretName.MatchString(k.Value) || secretValue.MatchString(v) {
			c.out = append(c.out, newFinding("TL-CF-006", name, n.StartLine,
				fmt.Sprintf("%s:%d: ENV %s holds what looks like a secret; it is stored in the image config", name, n.StartLine, k.Value)))
		}
	}
}

func (c *containerfileCheck) checkAdd(n *parser.Node) {
	name := c.name
	var srcs []string
	for a := n.Next; a != nil && a.Next != nil; a = a.Next {
		srcs = append(srcs, a.Value)
	}
	hasChecksum := false
	for _, f := range n.Flags {
		if strings.HasPrefix(f, "--checksum") {
			hasChecksum = true
		}
	}
	for _, s := range srcs {
		if (strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")) && !hasChecksum {
			c.out = append(c.out, newFinding("TL-CF-004", name, n.StartLine,
				fmt.Sprintf("%s:%d: ADD fetches %s without a checksum", name, n.StartLine, s)))
		}
	}
}

func (c *containerfileCheck) checkRun(n *parser.Node) {
	name := c.name
	text := runText(n)
	if m := pipeToShell.FindString(text); m != "" {
		c.out = append(c.out, newFinding("TL-CF-005", name, n.StartLine,
			fmt.Sprintf("%s:%d: RUN pipes a download into a shell: %s", name, n.StartLine, truncate(m, 80))))
	}
}

// checkFinalUser reports a final stage that runs as root: the user the image
// runs as is the last stage's.
func (c *containerfileCheck) checkFinalUser() {
	name := c.name
	if c.lastFrom > 0 && isRoot(c.lastUser) {
		line, msg := c.lastFrom, fmt.Sprintf("%s:%d: the final stage sets no USER, so the image runs as root", name, c.lastFrom)
		if c.lastUserLine > 0 {
			line, msg = c.lastUserLine, fmt.Sprintf("%s:%d: the final stage runs as USER %s", name, c.lastUserLine, c.lastUser)
		}
		c.out = append(c.out, newFinding("TL-CF-003", name, line, msg))
	}
}

func checkFrom(name string, line int, image string, stages map[string]bool) []finding.Misconfiguration {
	low := strings.ToLower(image)
	if low == "scratch" || stages[low] || strings.Contains(image, "$") {
		return nil
	}
	var out []finding.Misconfiguration
	if !strings.Contains(image, "@sha256:") {
		out = append(out, newFinding("TL-CF-001", name, line,
			fmt.Sprintf("%s:%d: base image %s is not pinned by digest", name, line, image)))
		if tag := tagOf(image); tag == "" || tag == "latest" {
			out = append(out, newFinding("TL-CF-002", name, line,
				fmt.Sprintf("%s:%d: base image %s uses the latest tag", name, line, image)))
		}
	}
	return out
}

// tagOf returns the tag of an image reference, "" when it has none.
func tagOf(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	slash := strings.LastIndex(ref, "/")
	if i := strings.LastIndex(ref, ":"); i > slash {
		return ref[i+1:]
	}
	return ""
}

func isRoot(user string) bool {
	u, _, _ := strings.Cut(user, ":")
	return u == "" || u == "root" || u == "0"
}

func expand(s string, args map[string]string) string {
	return strings.NewReplacer(pairs(args)...).Replace(s)
}

func pairs(args map[string]string) []string {
	var out []string
	for k, v := range args {
		out = append(out, "${"+k+"}", v, "$"+k, v)
	}
	return out
}

func runText(n *parser.Node) string {
	var parts []string
	for a := n.Next; a != nil; a = a.Next {
		parts = append(parts, a.Value)
	}
	for _, h := range n.Heredocs {
		parts = append(parts, h.Content)
	}
	return strings.Join(parts, " ")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
