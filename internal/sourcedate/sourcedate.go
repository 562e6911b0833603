// Package sourcedate parses SOURCE_DATE_EPOCH, the time a reproducible
// build clamps its timestamps to. There is one parser so that the build
// step, its SOURCE_DATE_EPOCH build argument and bundle push agree on what
// a valid value is. Reading the environment stays with the callers' mains.
package sourcedate

import (
	"fmt"
	"strconv"
	"time"
)

// Parse parses a SOURCE_DATE_EPOCH value: decimal seconds since
// 1970-01-01 UTC, as https://reproducible-builds.org/specs/source-date-epoch/
// defines it (no sign, no fraction, no spaces). The time is in UTC.
func Parse(s string) (time.Time, error) {
	if s == "" || len(s) > 18 {
		return time.Time{}, fmt.Errorf("%q: want seconds since 1970 (a decimal integer)", s)
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return time.Time{}, fmt.Errorf("%q: want seconds since 1970 (a decimal integer)", s)
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: %w", s, err)
	}
	return time.Unix(n, 0).UTC(), nil
}
