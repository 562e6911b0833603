package build

import (
	"strings"
	"testing"
)

// The error buildah 1.44 gives for "COPY link /x" where link -> /etc/passwd
// (seen from the build step, the request struct cut short here).
const copierSymlinkError = `build /tmp/symctx/Containerfile: building at STEP "COPY link /x": reading "/tmp/trustline-build-1/containers/tmp/buildah-context-1/overlay/4/merge/link": waiting on subprocess: exit status 1; error encoding quit request for copier subprocess: error during bulk transfer for copier.request{Request:"GET", Root:"/", Globs:[]string{"/link"}, GetOptions:copier.GetOptions{ChownDirs:(*idtools.IDPair)(0x34f122bfee10), Timestamp:<nil>}, RemoveOptions:copier.RemoveOptions{All:false}}: copier: get: lstat "/link"("/etc/passwd"): lstat /etc/passwd: no such file or directory: write |1: broken pipe`

func TestDescribeCopierError(t *testing.T) {
	got := describeCopierError(copierSymlinkError)
	want := `build /tmp/symctx/Containerfile: building at STEP "COPY link /x": "link" in the build context is a symbolic link to "/etc/passwd", which is not in the build context (COPY and ADD resolve links inside the context)`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if strings.Contains(got, "copier.request") || len(got) > 300 {
		t.Errorf("struct dump kept (%d bytes)", len(got))
	}

	// Another copier reason keeps its words, without the struct.
	other := strings.Replace(copierSymlinkError, `lstat "/link"("/etc/passwd"): lstat /etc/passwd: no such file or directory`, `open /link: permission denied`, 1)
	if got := describeCopierError(other); !strings.HasSuffix(got, `"COPY link /x": copier: get: open /link: permission denied`) {
		t.Errorf("other reason: %s", got)
	}

	// Errors that are not the copier's pass through unchanged.
	plain := `build Containerfile: building at STEP "RUN false": exit status 1`
	if got := describeCopierError(plain); got != plain {
		t.Errorf("plain error changed: %s", got)
	}
}
