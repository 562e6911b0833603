package build

import (
	"strings"
	"testing"
)

func TestDeclareArgs(t *testing.T) {
	in := "# syntax=docker/dockerfile:1\nARG BASE=busybox\nFROM $BASE AS one\nRUN echo one\nFROM \\\n  scratch\nCOPY --from=one /x /x"
	got, err := declareArgs("Containerfile", []byte(in), []string{"GOPROXY", "GOFLAGS"})
	if err != nil {
		t.Fatal(err)
	}
	want := "# syntax=docker/dockerfile:1\nARG BASE=busybox\nFROM $BASE AS one\nARG GOPROXY\nARG GOFLAGS\nRUN echo one\nFROM \\\n  scratch\nARG GOPROXY\nARG GOFLAGS\nCOPY --from=one /x /x"
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestPrefetchDir builds, hermetically, a Containerfile whose RUN reads the
// prefetched files at /prefetch and sees prefetch.env's variables; the
// variables stay out of the image config and the prefetch directory,
// though inside the context, out of COPY.
func TestPrefetchDir(t *testing.T) {
	f := newFixture(t)
	ctxDir := writeContext(t, map[string]string{
		"Containerfile": "FROM " + f.busyboxRef + "\nCOPY . /src/\n" +
			"RUN cat /prefetch/deps/generic/tool.txt > /tool && echo \"$GOPROXY $GOMODCACHE $npm_config_offline\" > /env && echo built > /prefetch/written-by-run\n",
		"main.go":                         "package main\n",
		".prefetch/prefetch.env":          "# comment\nexport GOPROXY=off\nexport GOMODCACHE=/prefetch/deps/gomod/pkg/mod\nexport npm_config_offline=true\n",
		".prefetch/deps/generic/tool.txt": "prefetched tool\n",
	})
	image := f.reg + "/app/prefetch:v1"
	res, progress, err := f.build(t, image, WithContextDir(ctxDir), WithHermetic(true), WithPrefetchDir(ctxDir+"/.prefetch"))
	if err != nil {
		t.Fatalf("%v\n%s", err, progress)
	}
	img, _, _ := remoteImage(t, res.URL)
	fs := files(t, img)
	if got := fs["tool"].content; got != "prefetched tool\n" {
		t.Errorf("/tool = %q", got)
	}
	if got := fs["env"].content; got != "off /prefetch/deps/gomod/pkg/mod true\n" {
		t.Errorf("RUN environment: %q", got)
	}
	if _, ok := fs["src/main.go"]; !ok {
		t.Error("COPY . lost the context")
	}
	for p := range fs {
		if strings.HasPrefix(p, "src/.prefetch") || strings.HasPrefix(p, "prefetch/") {
			t.Errorf("%s: the prefetched dependencies reached the image", p)
		}
	}
	cf, err := img.ConfigFile()
	must(t, err)
	for _, e := range cf.Config.Env {
		if strings.HasPrefix(e, "GOPROXY=") || strings.HasPrefix(e, "GOMODCACHE=") {
			t.Errorf("image config keeps the RUN-only variable %s", e)
		}
	}

	// A directory that does not exist: nothing was prefetched.
	plain := writeContext(t, map[string]string{"Containerfile": "FROM " + f.busyboxRef + "\nRUN test ! -e /prefetch && echo none > /none\n"})
	if _, progress, err := f.build(t, f.reg+"/app/prefetch:none", WithContextDir(plain), WithPrefetchDir(plain+"/absent")); err != nil {
		t.Fatalf("%v\n%s", err, progress)
	}
	// A directory without prefetch.env is a mistake, named.
	_, _, err = f.build(t, f.reg+"/app/prefetch:bad", WithContextDir(plain), WithPrefetchDir(t.TempDir()))
	if err == nil || !strings.Contains(err.Error(), "prefetch.env") {
		t.Errorf("want an error naming prefetch.env, got %v", err)
	}
}
