// Package exitcode carries the project's exit-code convention through
// errors: 0 done or passed, 1 the check said no (a policy violation, a scan
// above its threshold), 2 an error prevented an answer (bad input, an
// unreachable registry). A main maps the error it gets to os.Exit with
// Code.
package exitcode

import (
	"errors"
	"fmt"
)

const (
	// OK means the command did its job, or the check passed.
	OK = 0
	// Failed means the check ran and said no.
	Failed = 1
	// Error means something prevented an answer.
	Error = 2
)

// Err wraps an error with the exit code it should produce.
type Err struct {
	Code int
	Err  error
}

func (e *Err) Error() string { return e.Err.Error() }
func (e *Err) Unwrap() error { return e.Err }

// CheckFailed marks err as a "the check said no" outcome (exit 1).
func CheckFailed(err error) error {
	if err == nil {
		return nil
	}
	return &Err{Code: Failed, Err: err}
}

// CheckFailedf formats a "the check said no" outcome (exit 1).
func CheckFailedf(format string, args ...any) error {
	return CheckFailed(fmt.Errorf(format, args...))
}

// Code returns the exit code for err: OK for nil, the code of the first
// *Err in its chain, and Error for anything else.
func Code(err error) int {
	if err == nil {
		return OK
	}
	var e *Err
	if errors.As(err, &e) {
		return e.Code
	}
	return Error
}
