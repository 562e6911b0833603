package prefetch

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// wheel builds a pure-Python wheel of one module.
func wheel(t *testing.T, name, version string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	di := name + "-" + version + ".dist-info/"
	files := []struct{ name, body string }{
		{name + ".py", fmt.Sprintf("VERSION = %q\n", version)},
		{di + "METADATA", fmt.Sprintf("Metadata-Version: 2.1\nName: %s\nVersion: %s\n", name, version)},
		{di + "WHEEL", "Wheel-Version: 1.0\nGenerator: trustline-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
	}
	var record strings.Builder
	for _, f := range files {
		w, _ := zw.Create(f.name)
		w.Write([]byte(f.body))
		record.WriteString(f.name + ",,\n")
	}
	record.WriteString(di + "RECORD,,\n")
	w, _ := zw.Create(di + "RECORD")
	w.Write([]byte(record.String()))
	zw.Close()
	return buf.Bytes()
}

// pipFixture serves a PEP 503 simple index on 127.0.0.1: one project with
// a wheel and an unrelated file the requirements do not pin.
func pipFixture(t *testing.T) (fs *fileServer, src string, whl []byte) {
	t.Helper()
	fs = newFileServer(t)
	whl = wheel(t, "tinymod", "1.0.0")
	other := wheel(t, "tinymod", "0.9.0")
	fs.put("/files/tinymod-1.0.0-py3-none-any.whl", whl)
	fs.put("/files/tinymod-0.9.0-py3-none-any.whl", other)
	fs.put("/simple/tinymod/", []byte(fmt.Sprintf(`<!DOCTYPE html><html><body>
<a href="../../files/tinymod-0.9.0-py3-none-any.whl#sha256=%s">tinymod-0.9.0-py3-none-any.whl</a>
<a href="/files/tinymod-1.0.0-py3-none-any.whl#sha256=%s" data-requires-python="&gt;=3">tinymod-1.0.0-py3-none-any.whl</a>
</body></html>`, sha256Hex(other), sha256Hex(whl))))
	src = t.TempDir()
	writeFiles(t, src, map[string]string{"requirements.txt": "# pinned\nTinyMod==1.0.0 \\\n    --hash=sha256:" + sha256Hex(whl) + "\n"})
	return fs, src, whl
}

// TestPipInstallsOffline fetches from the local index, then installs with
// the real pip, --no-index, from the output alone.
func TestPipInstallsOffline(t *testing.T) {
	fs, src, whl := pipFixture(t)
	out := filepath.Join(t.TempDir(), "out")
	res, err := Prefetch(context.Background(), src, out, []Package{{Type: TypePip}}, WithPipIndex(fs.URL+"/simple"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Files != 1 {
		t.Errorf("%d files: only the pinned wheel should be fetched", res.Files)
	}
	b, err := os.ReadFile(filepath.Join(out, PipDir, "tinymod-1.0.0-py3-none-any.whl"))
	if err != nil || !bytes.Equal(b, whl) {
		t.Fatalf("wheel: %v", err)
	}
	if _, err := exec.LookPath("pip3"); err != nil {
		t.Fatal("pip3 is needed: the test proves pip installs from the output")
	}
	fs.Close()
	target := t.TempDir()
	cmd := exec.Command("pip3", "install", "--disable-pip-version-check", "--target", target, "-r", filepath.Join(src, "requirements.txt"))
	cmd.Env = append(os.Environ(), envFromFile(t, filepath.Join(out, EnvFile), DefaultMountPath, out)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pip install --no-index: %v\n%s", err, b)
	}
	if b, err := os.ReadFile(filepath.Join(target, "tinymod.py")); err != nil || !strings.Contains(string(b), "1.0.0") {
		t.Errorf("installed module: %q %v", b, err)
	}
	sbom := readSBOM(t, filepath.Join(out, SBOMFile))
	if len(sbom.Components) != 1 || sbom.Components[0].PURL != "pkg:pypi/tinymod@1.0.0?file_name=tinymod-1.0.0-py3-none-any.whl" {
		t.Errorf("SBOM %+v", sbom.Components)
	}
}

func TestPipMismatchAndMissingHash(t *testing.T) {
	fs, src, _ := pipFixture(t)
	// The index lists the pinned hash but serves other bytes.
	fs.put("/files/tinymod-1.0.0-py3-none-any.whl", wheel(t, "tinymod", "6.6.6"))
	out := filepath.Join(t.TempDir(), "out")
	_, err := Prefetch(context.Background(), src, out, []Package{{Type: TypePip}}, WithPipIndex(fs.URL+"/simple"))
	var ce *ChecksumError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "tinymod==1.0.0") {
		t.Fatalf("want a checksum error naming tinymod==1.0.0, got %v", err)
	}
	assertEmpty(t, out)

	writeFiles(t, src, map[string]string{"requirements.txt": "tinymod==1.0.0\nrequests>=2\n"})
	_, err = Prefetch(context.Background(), src, out, []Package{{Type: TypePip}}, WithPipIndex(fs.URL+"/simple"))
	var ue *UnpinnedError
	if !errors.As(err, &ue) || len(ue.Packages) != 2 || !strings.HasPrefix(ue.Packages[0], "tinymod==1.0.0") || !strings.Contains(ue.Packages[1], "requests>=2") {
		t.Fatalf("want tinymod and requests named as unpinned, got %v", err)
	}
	assertEmpty(t, out)
}

func TestGeneric(t *testing.T) {
	fs := newFileServer(t)
	blob := []byte("a generic artifact\n")
	u := fs.put("/dl/tool-1.0.tar.gz", blob)
	src := t.TempDir()
	lock := func(checksum string) string {
		return fmt.Sprintf("metadata:\n  version: \"1.0\"\nartifacts:\n  - download_url: %s\n    checksum: %s\n", u, checksum)
	}
	writeFiles(t, src, map[string]string{"artifacts.lock.yaml": lock("sha256:" + sha256Hex(blob))})
	out := filepath.Join(t.TempDir(), "out")
	if _, err := Prefetch(context.Background(), src, out, []Package{{Type: TypeGeneric}}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(out, GenericDir, "tool-1.0.tar.gz")); err != nil || !bytes.Equal(b, blob) {
		t.Errorf("artifact: %q %v", b, err)
	}
	sbom := readSBOM(t, filepath.Join(out, SBOMFile))
	if len(sbom.Components) != 1 || !strings.HasPrefix(sbom.Components[0].PURL, "pkg:generic/tool-1.0.tar.gz?checksum=sha256%3A"+sha256Hex(blob)) {
		t.Errorf("SBOM %+v", sbom.Components)
	}

	for _, c := range []struct{ lock, want string }{
		{lock("sha256:" + strings.Repeat("0", 64)), "checksum mismatch"},
		{lock(`""`), "tool-1.0.tar.gz is not pinned by a checksum"},
		{lock("md5:0123"), "want sha256:<hex>"},
		{"metadata:\n  version: \"1.0\"\nartifacts:\n  - download_url: " + u + "\n    filename: ../escape\n    checksum: sha256:" + sha256Hex(blob) + "\n", `filename "../escape"`},
	} {
		writeFiles(t, src, map[string]string{"artifacts.lock.yaml": c.lock})
		out := filepath.Join(t.TempDir(), "out")
		_, err := Prefetch(context.Background(), src, out, []Package{{Type: TypeGeneric}})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("lock %q: got %v, want %q", c.lock, err, c.want)
		}
		assertEmpty(t, out)
	}
}

func TestOutputMustBeEmpty(t *testing.T) {
	out := t.TempDir()
	writeFiles(t, out, map[string]string{"old": "x"})
	_, err := Prefetch(context.Background(), t.TempDir(), out, []Package{{Type: TypeGomod}})
	if err == nil || !strings.Contains(err.Error(), "is not empty") {
		t.Fatalf("got %v", err)
	}
}
