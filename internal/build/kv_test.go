package build

import (
	"maps"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestParseBuildArgs(t *testing.T) {
	got, err := ParseBuildArgs([]string{"A=1", "B=", "C=x=y", "_d9=ok", "A=1"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"A": "1", "B": "", "C": "x=y", "_d9": "ok"}
	if !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for _, bad := range []string{"A", "=1", "9A=1", "A-B=1", "A B=1", "A=\xff"} {
		if _, err := ParseBuildArgs([]string{bad}); err == nil || !strings.Contains(err.Error(), "--build-arg") {
			t.Errorf("%q: got %v, want an error naming --build-arg", bad, err)
		}
	}
	if _, err := ParseBuildArgs([]string{"A=1", "A=2"}); err == nil || !strings.Contains(err.Error(), "already set") {
		t.Errorf("conflicting values: %v", err)
	}
}

func TestParseLabels(t *testing.T) {
	got, err := ParseLabels([]string{"org.opencontainers.image.title=app", "team=", "k=a=b"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"org.opencontainers.image.title": "app", "team": "", "k": "a=b"}
	if !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for _, bad := range []string{"novalue", "=v", "a b=c", "a\tb=c", "a\x00=c", "\xff=c"} {
		if _, err := ParseLabels([]string{bad}); err == nil || !strings.Contains(err.Error(), "--label") {
			t.Errorf("%q: got %v, want an error naming --label", bad, err)
		}
	}
}

func FuzzParseBuildArgs(f *testing.F) {
	for _, s := range []string{"A=1", "A", "=", "A==", "9=1", "A=\xff", "Ä=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseBuildArgs([]string{s})
		if err != nil {
			return
		}
		k, v, _ := strings.Cut(s, "=")
		if len(m) != 1 || m[k] != v {
			t.Fatalf("%q parsed to %v", s, m)
		}
		if k == "" || (k[0] >= '0' && k[0] <= '9') {
			t.Fatalf("%q: accepted name %q", s, k)
		}
	})
}

func FuzzParseLabels(f *testing.F) {
	for _, s := range []string{"a=b", "a", "=b", "a b=c", "é=ü", "a=\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseLabels([]string{s})
		if err != nil {
			return
		}
		k, v, _ := strings.Cut(s, "=")
		if len(m) != 1 || m[k] != v || k == "" || !utf8.ValidString(k) || !utf8.ValidString(v) {
			t.Fatalf("%q parsed to %v", s, m)
		}
		if strings.ContainsAny(k, " \t\n\r\x00") {
			t.Fatalf("%q: accepted key %q", s, k)
		}
	})
}

func TestSourceDateEpochBuildArg(t *testing.T) {
	o, err := makeOptions([]Option{WithContextDir(t.TempDir()), WithBuildArgs(map[string]string{"SOURCE_DATE_EPOCH": "100"})})
	if err != nil {
		t.Fatal(err)
	}
	if o.sourceDateEpoch == nil || o.sourceDateEpoch.Unix() != 100 {
		t.Errorf("sourceDateEpoch = %v, want 100 from the build argument", o.sourceDateEpoch)
	}
	o, err = makeOptions([]Option{WithContextDir(t.TempDir()), WithSourceDateEpoch(time.Unix(5, 0)), WithBuildArgs(map[string]string{"SOURCE_DATE_EPOCH": "100"})})
	if err != nil || o.sourceDateEpoch.Unix() != 5 {
		t.Errorf("the option must win over the build argument: %v %v", o.sourceDateEpoch, err)
	}
	if _, err := makeOptions([]Option{WithContextDir(t.TempDir()), WithBuildArgs(map[string]string{"SOURCE_DATE_EPOCH": "soon"})}); err == nil || !strings.Contains(err.Error(), "SOURCE_DATE_EPOCH") {
		t.Errorf("bad build argument: %v", err)
	}
	if _, err := makeOptions([]Option{WithContextDir(t.TempDir()), WithStorage(Storage{Driver: "zfs"})}); err == nil || !strings.Contains(err.Error(), "zfs") {
		t.Errorf("bad driver: %v", err)
	}
	if _, err := makeOptions([]Option{WithContextDir("/nonexistent/ctx")}); err == nil || !strings.Contains(err.Error(), "/nonexistent/ctx") {
		t.Errorf("missing context: %v", err)
	}
}
