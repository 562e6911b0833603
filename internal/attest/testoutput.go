package attest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// TestOutput is Konflux's TEST_OUTPUT result, as the scan and test tasks
// write it.
type TestOutput struct {
	Result    string `json:"result"`
	Timestamp string `json:"timestamp"`
	Note      string `json:"note,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	Successes int    `json:"successes"`
	Failures  int    `json:"failures"`
	Warnings  int    `json:"warnings"`
}

// ParseTestOutput reads and checks a TEST_OUTPUT value.
func ParseTestOutput(b []byte) (*TestOutput, error) {
	var to TestOutput
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&to); err != nil {
		return nil, fmt.Errorf("TEST_OUTPUT is not the Konflux JSON object: %w", err)
	}
	if dec.More() {
		return nil, errors.New("TEST_OUTPUT: trailing data after the JSON object")
	}
	switch to.Result {
	case "SUCCESS", "FAILURE", "WARNING", "ERROR", "SKIPPED":
	default:
		return nil, fmt.Errorf("TEST_OUTPUT: result %q is not SUCCESS, FAILURE, WARNING, ERROR or SKIPPED", to.Result)
	}
	if _, err := time.Parse(time.RFC3339, to.Timestamp); err != nil {
		return nil, fmt.Errorf("TEST_OUTPUT: timestamp %q is not RFC 3339", to.Timestamp)
	}
	if to.Successes < 0 || to.Failures < 0 || to.Warnings < 0 {
		return nil, errors.New("TEST_OUTPUT: negative count")
	}
	return &to, nil
}

// TestResultPredicate turns a TEST_OUTPUT into an in-toto test-result v0.1
// predicate. The result maps SUCCESS and SKIPPED to PASSED, WARNING to
// WARNED, FAILURE and ERROR to FAILED; the TEST_OUTPUT itself is carried
// verbatim in the extension field testOutput (in-toto consumers ignore
// fields they do not know), so a policy can read Konflux's counts and note.
// name identifies the test (the task name), url where its log lives.
func TestResultPredicate(raw []byte, name, url string) (Predicate, error) {
	to, err := ParseTestOutput(raw)
	if err != nil {
		return Predicate{}, err
	}
	result := map[string]string{
		"SUCCESS": "PASSED", "SKIPPED": "PASSED", "WARNING": "WARNED", "FAILURE": "FAILED", "ERROR": "FAILED",
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
