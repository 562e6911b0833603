package attest

import (
	"bytes"
	"encoding/json"

	"github.com/trustline-dev/trustline/internal/results"
)

// TestResultPredicate turns a TEST_OUTPUT into an in-toto test-result v0.1
// predicate. The result maps SUCCESS and SKIPPED to PASSED, WARNING to
// WARNED, FAILURE and ERROR to FAILED; the TEST_OUTPUT itself is carried
// verbatim in the extension field testOutput (in-toto consumers ignore
// fields they do not know), so a policy can read Konflux's counts and note.
// name identifies the test (the task name), url where its log lives.
func TestResultPredicate(raw []byte, name, url string) (Predicate, error) {
	to, err := results.ParseTestOutput(raw)
	if err != nil {
		return Predicate{}, err
	}
	result := map[string]string{
		results.Success: "PASSED", results.Skipped: "PASSED", results.Warning: "WARNED", results.Failure: "FAILED", results.Error: "FAILED",
	}[to.Result]
	if name == "" {
		name = "test"
	}
	p := struct {
		Result        string          `json:"result"`
		Configuration []descriptor    `json:"configuration"`
		URL           string          `json:"url,omitempty"`
		PassedTests   []string        `json:"passedTests"`
		WarnedTests   []string        `json:"warnedTests"`
		FailedTests   []string        `json:"failedTests"`
		TestOutput    json.RawMessage `json:"testOutput"`
	}{
		Result:        result,
		Configuration: []descriptor{{Name: name}},
		URL:           url,
		PassedTests:   []string{},
		WarnedTests:   []string{},
		FailedTests:   []string{},
		TestOutput:    json.RawMessage(bytes.TrimSpace(raw)),
	}
	switch result {
	case "PASSED":
		p.PassedTests = []string{name}
	case "WARNED":
		p.WarnedTests = []string{name}
	case "FAILED":
		p.FailedTests = []string{name}
	}
	b, err := json.Marshal(p)
	if err != nil {
		return Predicate{}, err
	}
	return Predicate{Type: TestResultPredicateType, Body: b, Source: "TEST_OUTPUT"}, nil
}

type descriptor struct {
	Name string `json:"name"`
}
