package ecbuiltins

import (
	"fmt"

	packageurl "github.com/anchore/packageurl-go"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/types"
)

// Names of the package URL built-ins.
const (
	PURLIsValid = "ec.purl.is_valid"
	PURLParse   = "ec.purl.parse"
)

func purlFunctions() []function {
	purl := types.Named("purl", types.S).Description("the PURL")
	qualifier := types.NewObject([]*types.StaticProperty{types.NewStaticProperty("key", types.S), types.NewStaticProperty("value", types.S)}, nil)
	parsed := types.NewObject([]*types.StaticProperty{
		types.NewStaticProperty("type", types.S), types.NewStaticProperty("namespace", types.S),
		types.NewStaticProperty("name", types.S), types.NewStaticProperty("version", types.S),
		types.NewStaticProperty("qualifiers", types.NewArray(nil, qualifier)), types.NewStaticProperty("subpath", types.S),
	}, nil)
	// Pure functions of their argument: deterministic, unlike the
	// registry-backed ones.
	isValid := &rego.Function{Name: PURLIsValid, Description: "Determine whether or not a given PURL is valid.",
		Decl: types.NewFunction(types.Args(purl), types.Named("result", types.B)), Memoize: true}
	parse := &rego.Function{Name: PURLParse, Description: "Parse a valid PURL into an object.",
		Decl: types.NewFunction(types.Args(purl), types.Named("object", parsed)), Memoize: true}
	return []function{{decl: isValid, impl1: purlIsValid}, {decl: parse, impl1: purlParse}}
}

// purlIsValid is false, never undefined, for anything that is not a
// string holding a valid package URL, as in Conforma.
func purlIsValid(_ rego.BuiltinContext, a *ast.Term) (*ast.Term, error) {
	s, ok := a.Value.(ast.String)
	if !ok {
		return ast.BooleanTerm(false), nil
	}
	_, err := packageurl.FromString(string(s))
	return ast.BooleanTerm(err == nil), nil
}

// purlParse is undefined for an invalid package URL; the error says why.
func purlParse(_ rego.BuiltinContext, a *ast.Term) (*ast.Term, error) {
	s, ok := a.Value.(ast.String)
	if !ok {
		return nil, fmt.Errorf("package URL %s: %w", a, errNotString)
	}
	p, err := packageurl.FromString(string(s))
	if err != nil {
		return nil, fmt.Errorf("package URL %q: %w", string(s), err)
	}
	return ast.NewTerm(purlObject(p)), nil
}

// purlObject keeps the qualifiers as a list of key/value pairs, in their
// order in the PURL, as Conforma returns them.
func purlObject(p packageurl.PackageURL) ast.Object {
	qs := make([]*ast.Term, 0, len(p.Qualifiers))
	for _, q := range p.Qualifiers {
		qs = append(qs, ast.ObjectTerm(ast.Item(ast.StringTerm("key"), ast.StringTerm(q.Key)), ast.Item(ast.StringTerm("value"), ast.StringTerm(q.Value))))
	}
	return ast.NewObject(
		ast.Item(ast.StringTerm("type"), ast.StringTerm(p.Type)),
		ast.Item(ast.StringTerm("namespace"), ast.StringTerm(p.Namespace)),
		ast.Item(ast.StringTerm("name"), ast.StringTerm(p.Name)),
		ast.Item(ast.StringTerm("version"), ast.StringTerm(p.Version)),
		ast.Item(ast.StringTerm("qualifiers"), ast.ArrayTerm(qs...)),
		ast.Item(ast.StringTerm("subpath"), ast.StringTerm(p.Subpath)),
	)
}
