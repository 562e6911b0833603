package ecbuiltins

import (
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// FuzzPURL feeds package URLs from SBOMs (untrusted) to ec.purl.is_valid
// and ec.purl.parse: neither may panic, is_valid always answers, and
// parse has a value exactly when is_valid says true.
func FuzzPURL(f *testing.F) {
	for _, s := range []string{"pkg:rpm/redhat/openssl@3.0.7?arch=x86_64#sub", "pkg:npm/%40scope/name@1", "pkg:", "", "pkg:oci/x@sha256%3Aab?repository_url=q.io/x", "pkg:a/b/c/d@v?k=v&k=w"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		valid, err := purlIsValid(rego.BuiltinContext{}, ast.StringTerm(s))
		if err != nil || valid == nil {
			t.Fatalf("is_valid(%q): %v %v", s, valid, err)
		}
		parsed, err := purlParse(rego.BuiltinContext{}, ast.StringTerm(s))
		if valid.Value.Compare(ast.Boolean(true)) == 0 {
			if err != nil || parsed == nil {
				t.Fatalf("parse(%q) of a valid purl: %v", s, err)
			}
			if _, ok := parsed.Value.(ast.Object).Get(ast.StringTerm("qualifiers")).Value.(*ast.Array); !ok {
				t.Fatalf("parse(%q): qualifiers not a list", s)
			}
		} else if err == nil {
			t.Fatalf("parse(%q) of an invalid purl has a value: %v", s, parsed)
		}
	})
}
