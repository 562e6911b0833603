package sourcedate

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	got, err := Parse("1700000000")
	if err != nil || !got.Equal(time.Unix(1700000000, 0)) || got.Location() != time.UTC {
		t.Errorf("got %v, %v", got, err)
	}
	for _, bad := range []string{"", "-1", "+5", "1.5", " 1", "1e9", "99999999999999999999", "0x10"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"0", "1700000000", "-1", "", "999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := Parse(s)
		if err != nil {
			return
		}
		if tm.Unix() < 0 {
			t.Fatalf("%q: %v", s, tm)
		}
		if got := strings.TrimLeft(s, "0"); got != "" && got != strconv.FormatInt(tm.Unix(), 10) {
			t.Fatalf("%q parsed to %d", s, tm.Unix())
		}
	})
}
