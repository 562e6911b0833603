package validate

import "time"

// validDate accepts the dates catalog.yaml and trusted-task rule data use.
func validDate(s string) bool {
	if _, err := time.Parse(time.DateOnly, s); err == nil {
		return true
	}
	_, err := time.Parse(time.RFC3339, s)
	return err == nil
}
