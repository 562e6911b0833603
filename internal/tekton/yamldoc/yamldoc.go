// Package yamldoc splits a multi-document YAML file the way kubectl does
// and maps field paths ("spec.steps[0].image") in each document to the
// line of the file they are on, so a problem can point at its line.
package yamldoc

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// Doc is one document of a YAML stream.
type Doc struct {
	// Line is the 1-based line of the file where the document's text
	// starts (the line after its "---").
	Line int
	// Text is the document's own YAML, without its separator.
	Text []byte
}

// Empty reports whether the document holds nothing but blank lines and
// comments, which kubectl skips.
func (d Doc) Empty() bool {
	for _, l := range bytes.Split(d.Text, []byte("\n")) {
		if t := bytes.TrimSpace(l); len(t) > 0 && t[0] != '#' {
			return false
		}
	}
	return true
}

// SeparatorError is a line that starts with "---" followed by something
// other than a comment, which kubectl's YAML reader rejects.
type SeparatorError struct {
	Line int
	Text string
}

func (e *SeparatorError) Error() string {
	return fmt.Sprintf("line %d: invalid document separator %q: only a comment may follow ---", e.Line, e.Text)
}

// Split splits b at lines that start with "---" followed by nothing but
// blanks or a comment, as k8s.io/apimachinery's YAML reader (and so
// kubectl) does. The documents, joined with their separator lines, are
// exactly b.
func Split(b []byte) ([]Doc, error) {
	var out []Doc
	start, startLine, line := 0, 1, 0
	for off := 0; off < len(b); {
		end := bytes.IndexByte(b[off:], '\n')
		next := len(b)
		if end >= 0 {
			next = off + end + 1
		}
		line++
		l := b[off:next]
		if bytes.HasPrefix(l, []byte("---")) {
			rest := bytes.TrimSpace(l[3:])
			if len(rest) > 0 && rest[0] != '#' {
				return nil, &SeparatorError{Line: line, Text: string(bytes.TrimRight(l, "\r\n"))}
			}
			out = append(out, Doc{Line: startLine, Text: b[start:off]})
			start, startLine = next, line+1
		}
		off = next
	}
	return append(out, Doc{Line: startLine, Text: b[start:]}), nil
}

var lineRef = regexp.MustCompile(`\bline (\d+)\b`)

// ShiftLines rewrites every "line N" in a YAML parser's message about a
// document starting at firstLine into the line of the file.
func ShiftLines(msg string, firstLine int) string {
	return lineRef.ReplaceAllStringFunc(msg, func(m string) string {
		n, err := strconv.Atoi(strings.TrimPrefix(m, "line "))
		if err != nil {
			return m
		}
		return "line " + strconv.Itoa(n+firstLine-1)
	})
}

// Positions maps the field paths of one document to lines of its file.
type Positions struct {
	root      *yaml.Node
	firstLine int
}

// Locate parses a document's text into positions. An error is a YAML
// syntax error, its line counted in the file.
func Locate(d Doc) (*Positions, error) {
	var n yaml.Node
	if err := yaml.Unmarshal(d.Text, &n); err != nil {
		return nil, fmt.Errorf("%s", ShiftLines(err.Error(), d.Line))
	}
	root := &n
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	return &Positions{root: root, firstLine: d.Line}, nil
}

func (p *Positions) line(n *yaml.Node) int { return n.Line + p.firstLine - 1 }

// Line returns the line of the deepest node on path that the document
// has: the line of the field itself when it is there, else of its nearest
// parent (a field that Tekton adds as a default is not in the file). A
// path is dotted keys with [index] or [name] for list items (matched by
// their name field) and [key] for map keys; keys may hold dots
// ("metadata.labels.app.kubernetes.io/version"). 0 when not even the
// first key is there.
func (p *Positions) Line(path string) int {
	if p == nil || p.root == nil {
		return 0
	}
	node, line := p.root, 0
	rest := path
	for rest != "" {
		var next *yaml.Node
		var keyLine int
		next, keyLine, rest = step(node, rest)
		if next == nil {
			break
		}
		node, line = next, p.line(&yaml.Node{Line: keyLine})
	}
	return line
}

// step walks one segment of path from n, returning the child, the line
// that names it and what is left of the path.
func step(n *yaml.Node, path string) (*yaml.Node, int, string) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	path = strings.TrimPrefix(path, ".")
	if strings.HasPrefix(path, "[") {
		end := strings.IndexByte(path, ']')
		if end < 0 {
			return nil, 0, ""
		}
		key, rest := path[1:end], path[end+1:]
		switch n.Kind {
		case yaml.SequenceNode:
			if i, err := strconv.Atoi(key); err == nil {
				if i >= 0 && i < len(n.Content) {
					return n.Content[i], n.Content[i].Line, rest
				}
				return nil, 0, ""
			}
			for _, item := range n.Content {
				if v := MapValue(item, "name"); v != nil && v.Value == key {
					return item, item.Line, rest
				}
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == key {
					return n.Content[i+1], n.Content[i].Line, rest
				}
			}
		}
		return nil, 0, ""
	}
	if n.Kind != yaml.MappingNode {
		return nil, 0, ""
	}
	// The longest key that the path starts with, so that keys holding
	// dots are found.
	best := -1
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		if strings.HasPrefix(path, k) && (len(path) == len(k) || path[len(k)] == '.' || path[len(k)] == '[') {
			if best < 0 || len(k) > len(n.Content[best].Value) {
				best = i
			}
		}
	}
	if best < 0 {
		return nil, 0, ""
	}
	return n.Content[best+1], n.Content[best].Line, path[len(n.Content[best].Value):]
}

// MapValue returns the value of key in the mapping node n, or nil when n
// is not a mapping or has no such key.
func MapValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// Duplicate is a key given twice in one mapping.
type Duplicate struct {
	Path      string
	Line      int // of the second key, in the file
	FirstLine int
}

// Duplicates lists keys given twice in one mapping. kubectl's YAML
// decoding keeps the last one silently; the YAML spec forbids them.
func (p *Positions) Duplicates() []Duplicate {
	var out []Duplicate
	var walk func(n *yaml.Node, path string, depth int)
	walk = func(n *yaml.Node, path string, depth int) {
		if depth > 200 {
			return
		}
		switch n.Kind {
		case yaml.MappingNode:
			seen := map[string]int{}
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i].Value
				child := k
				if path != "" {
					child = path + "." + k
				}
				if first, ok := seen[k]; ok {
					out = append(out, Duplicate{Path: child, Line: p.line(n.Content[i]), FirstLine: p.line(&yaml.Node{Line: first})})
				}
				seen[k] = n.Content[i].Line
				walk(n.Content[i+1], child, depth+1)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, fmt.Sprintf("%s[%d]", path, i), depth+1)
			}
		}
	}
	if p != nil && p.root != nil {
		walk(p.root, "", 0)
	}
	return out
}

// Find returns the paths (with indices) whose index-free form equals
// plain, compared case-insensitively ("spec.steps.image" finds
// "spec.steps[0].image"), with the kind of their value as JSON names it:
// "string", "number", "bool", "null", "array" or "object". A decoder's
// type error names only the index-free path; this finds the field.
func (p *Positions) Find(plain string) []Match {
	var out []Match
	var walk func(n *yaml.Node, path, flat string, depth int)
	walk = func(n *yaml.Node, path, flat string, depth int) {
		if depth > 200 || len(flat) > len(plain) {
			return
		}
		for n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		if strings.EqualFold(flat, plain) {
			out = append(out, Match{Path: path, Kind: jsonKind(n), Line: p.line(n)})
		}
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i].Value
				cp, cf := k, k
				if path != "" {
					cp, cf = path+"."+k, flat+"."+k
				}
				walk(n.Content[i+1], cp, cf, depth+1)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, fmt.Sprintf("%s[%d]", path, i), flat, depth+1)
			}
		}
	}
	if p != nil && p.root != nil {
		walk(p.root, "", "", 0)
	}
	return out
}

// Match is one field Find found.
type Match struct {
	Path string
	Kind string
	Line int
}

func jsonKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "object"
	case yaml.SequenceNode:
		return "array"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!int", "!!float":
			return "number"
		case "!!bool":
			return "bool"
		case "!!null":
			return "null"
		}
		return "string"
	}
	return ""
}
