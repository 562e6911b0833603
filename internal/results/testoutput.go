package results

import (
	"errors"
	"fmt"
	"time"

	"github.com/trustline-dev/trustline/internal/jsondoc"
)

// The values of TestOutput.Result Konflux knows.
const (
	Success = "SUCCESS"
	Warning = "WARNING"
	Failure = "FAILURE"
	Error   = "ERROR"
	Skipped = "SKIPPED"
)

// TestOutput is Konflux's TEST_OUTPUT result, as its scan and test tasks
// write it and its UI and policies read it. Every field is written, even
// when empty, because that is the shape Konflux's own tasks produce; the
// scan, verify-policy and attest steps and the local runner all use this
// one type, so the shape cannot drift between them.
type TestOutput struct {
	Result    string `json:"result"`
	Timestamp string `json:"timestamp"`
	Note      string `json:"note"`
	Namespace string `json:"namespace"`
	Successes int    `json:"successes"`
	Failures  int    `json:"failures"`
	Warnings  int    `json:"warnings"`
}

// ParseTestOutput reads and checks a TEST_OUTPUT value strictly: one JSON
// object with no unknown fields, a known result, an RFC 3339 timestamp and
// no negative count. It is for values that are about to be signed into an
// attestation, where a malformed verdict must be refused, not guessed at.
func ParseTestOutput(b []byte) (*TestOutput, error) {
	var to TestOutput
	if err := jsondoc.Strict(b, &to); err != nil {
		return nil, fmt.Errorf("TEST_OUTPUT is not the Konflux JSON object: %w", err)
	}
	switch to.Result {
	case Success, Failure, Warning, Error, Skipped:
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
