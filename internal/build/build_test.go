package build

import (
	"errors"
	"io"
	"log"
	"net/http/httptest"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sys/unix"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBuild builds real images as root with the buildah library and pushes
// them to a registry on 127.0.0.1. The subtests share one registry and one
// storage, and run in order.
func TestBuild(t *testing.T) {
	f := newFixture(t)
	hello := staticBinary(t, "hello from scratch")
	sde := time.Unix(1700000000, 0).UTC()

	scratchContext := func(t *testing.T) string {
		return writeContext(t, map[string]string{
			"Containerfile": "FROM scratch\nCOPY hello /hello\nCOPY data/ /data/\nENTRYPOINT [\"/hello\"]\n",
			"hello":         string(hello),
			"data/a.txt":    "a\n",
		})
	}
	// buildScratch builds a fresh copy of the scratch context, with its
	// source and labels, clamped to epoch, and fails the test on error.
	buildScratch := func(t *testing.T, image string, epoch time.Time) *Result {
		res, progress, err := f.build(t, image,
			WithContextDir(scratchContext(t)),
			WithSourceDateEpoch(epoch),
			WithSource("https://example.com/acme/hello", "0123456789abcdef0123456789abcdef01234567"),
			WithLabels(map[string]string{"team": "build"}),
		)
		if err != nil {
			t.Fatalf("Build %s: %v\n%s", image, err, progress)
		}
		return res
	}

	var scratchDigest string
	t.Run("scratch", func(t *testing.T) {
		image := f.reg + "/app/hello:v1"
		res := buildScratch(t, image, sde)
		img, m, digest := remoteImage(t, image)
		if res.Digest != digest.String() {
			t.Errorf("result digest %s, registry has %s", res.Digest, digest)
		}
		if want := f.reg + "/app/hello:v1"; res.URL != want {
			t.Errorf("URL = %q, want %q", res.URL, want)
		}
		if want := f.reg + "/app/hello@" + digest.String(); res.Ref != want {
			t.Errorf("Ref = %q, want %q", res.Ref, want)
		}
		wantAnn := map[string]string{
			AnnotationSource:   "https://example.com/acme/hello",
			AnnotationRevision: "0123456789abcdef0123456789abcdef01234567",
			AnnotationCreated:  "2023-11-14T22:13:20Z",
		}
		for k, v := range wantAnn {
			if m.Annotations[k] != v {
				t.Errorf("annotation %s = %q, want %q", k, m.Annotations[k], v)
			}
		}
		for _, k := range []string{AnnotationBaseName, AnnotationBaseDigest} {
			if v, ok := m.Annotations[k]; ok {
				t.Errorf("FROM scratch image has annotation %s=%q", k, v)
			}
		}
		if res.Base != nil {
			t.Errorf("Base = %+v for FROM scratch", res.Base)
		}
		cf, err := img.ConfigFile()
		must(t, err)
		if cf.Config.Labels["team"] != "build" {
			t.Errorf("label team = %q, want build", cf.Config.Labels["team"])
		}
		if !cf.Created.Time.Equal(sde) {
			t.Errorf("config created %s, want %s", cf.Created.Time, sde)
		}
		fs := files(t, img)
		if got := fs["hello"]; got.content != string(hello) || got.mode&0o111 == 0 {
			t.Errorf("/hello in the image: %d bytes mode %o, want the %d-byte executable", len(got.content), got.mode, len(hello))
		}
		for p, mt := range layerTimes(t, img) {
			if mt.After(sde) {
				t.Errorf("%s has mtime %s, after SOURCE_DATE_EPOCH %s", p, mt, sde)
			}
		}
		scratchDigest = res.Digest
	})

	t.Run("reproducible", func(t *testing.T) {
		if scratchDigest == "" {
			t.Fatal("needs the scratch build")
		}
		// A fresh copy of the same context: every file has a new mtime,
		// which the build must clamp.
		time.Sleep(1100 * time.Millisecond)
		image := f.reg + "/app/hello:v1-again"
		res := buildScratch(t, image, sde)
		if res.Digest != scratchDigest {
			t.Errorf("second build of the same context: digest %s, first %s\n%s", res.Digest, scratchDigest, describeDiff(t, res.Ref, f.reg+"/app/hello@"+scratchDigest))
		}
		// The epoch is part of what is reproduced: another epoch, another
		// digest (so the equality above is not an accident).
		res2 := buildScratch(t, f.reg+"/app/hello:v1-other-epoch", sde.Add(time.Hour))
		if res2.Digest == scratchDigest {
			t.Errorf("a different SOURCE_DATE_EPOCH gave the same digest %s", res2.Digest)
		}
	})

	t.Run("run-on-busybox", func(t *testing.T) {
		image := f.reg + "/app/run:v1"
		ctxDir := writeContext(t, map[string]string{
			"Dockerfile": "ARG BASE\nFROM ${BASE}\nARG GREETING=unset\nRUN echo \"$GREETING\" > /greeting && mkdir -p /out && echo ran > /out/ran\n",
		})
		res, progress, err := f.build(t, image,
			WithContextDir(ctxDir),
			WithBuildArgs(map[string]string{"BASE": f.busyboxRef, "GREETING": "hi there"}),
			WithSourceDateEpoch(sde),
		)
		if err != nil {
			t.Fatalf("Build: %v\n%s", err, progress)
		}
		img, m, digest := remoteImage(t, image)
		if res.Digest != digest.String() {
			t.Errorf("result digest %s, registry has %s", res.Digest, digest)
		}
		if got := m.Annotations[AnnotationBaseName]; got != f.busyboxRef {
			t.Errorf("base.name = %q, want %q", got, f.busyboxRef)
		}
		if got := m.Annotations[AnnotationBaseDigest]; got != f.busyboxDigest {
			t.Errorf("base.digest = %q, want %q", got, f.busyboxDigest)
		}
		fs := files(t, img)
		if got := fs["greeting"].content; got != "hi there\n" {
			t.Errorf("/greeting = %q, want the build-arg", got)
		}
		if got := fs["out/ran"].content; got != "ran\n" {
			t.Errorf("/out/ran = %q", got)
		}
		if _, ok := fs["bin/busybox"]; !ok {
			t.Error("the base layer is missing from the image")
		}
	})

	t.Run("multi-stage", func(t *testing.T) {
		image := f.reg + "/app/multi:v1"
		ctxDir := writeContext(t, map[string]string{
			"Containerfile": strings.Join([]string{
				"FROM " + f.reg + "/base/not-there:1 AS unused",
				"RUN false",
				"FROM " + f.busyboxTag + " AS builder",
				"COPY src.txt /src.txt",
				"RUN cat /src.txt /src.txt > /built.txt",
				"FROM builder AS tested",
				"RUN test -s /built.txt && echo ok > /tested",
				"FROM scratch AS final",
				"COPY --from=builder /built.txt /app/built.txt",
				"COPY --from=tested /tested /app/tested",
				"FROM tested AS debug",
				"RUN echo debug > /debug",
				"",
			}, "\n"),
			"src.txt": "line\n",
		})
		res, progress, err := f.build(t, image, WithContextDir(ctxDir), WithTarget("final"))
		if err != nil {
			t.Fatalf("Build: %v\n%s", err, progress)
		}
		img, m, digest := remoteImage(t, image)
		if res.Digest != digest.String() {
			t.Errorf("result digest %s, registry has %s", res.Digest, digest)
		}
		fs := files(t, img)
		if got := fs["app/built.txt"].content; got != "line\nline\n" {
			t.Errorf("/app/built.txt = %q", got)
		}
		if got := fs["app/tested"].content; got != "ok\n" {
			t.Errorf("/app/tested = %q", got)
		}
		if _, ok := fs["bin/busybox"]; ok {
			t.Error("the scratch final stage carries the builder's files")
		}
		if _, ok := m.Annotations[AnnotationBaseName]; ok {
			t.Errorf("scratch final stage has base.name %q", m.Annotations[AnnotationBaseName])
		}
		if _, ok := m.Annotations[AnnotationCreated]; !ok {
			t.Error("no created annotation")
		}

		// The debug stage is built on builder → busybox: its base is the
		// busybox image, through the stages.
		image = f.reg + "/app/multi:debug"
		res, progress, err = f.build(t, image, WithContextDir(ctxDir), WithTarget("debug"))
		if err != nil {
			t.Fatalf("Build: %v\n%s", err, progress)
		}
		_, m, _ = remoteImage(t, image)
		if got := m.Annotations[AnnotationBaseName]; got != f.busyboxTag {
			t.Errorf("base.name = %q, want %q", got, f.busyboxTag)
		}
		if got := m.Annotations[AnnotationBaseDigest]; got != f.busyboxDigest {
			t.Errorf("base.digest = %q, want %q", got, f.busyboxDigest)
		}
		if res.Base == nil || res.Base.Digest != f.busyboxDigest {
			t.Errorf("Base = %+v", res.Base)
		}
	})

	t.Run("hermetic", func(t *testing.T) {
		url := serve(t)
		ctxDir := writeContext(t, map[string]string{
			"Containerfile": "FROM " + f.busyboxRef + "\nARG URL\nRUN wget -q -O /got \"$URL\"\n",
		})
		args := WithBuildArgs(map[string]string{"URL": url})

		open := f.reg + "/app/net:open"
		res, progress, err := f.build(t, open, WithContextDir(ctxDir), args)
		if err != nil {
			t.Fatalf("without --hermetic a RUN reaching %s must work: %v\n%s", url, err, progress)
		}
		img, _, _ := remoteImage(t, open)
		if got := files(t, img)["got"].content; got != "pong" {
			t.Errorf("/got = %q, want pong", got)
		}
		if res.Digest == "" {
			t.Error("no digest")
		}

		closed := f.reg + "/app/net:hermetic"
		_, progress, err = f.build(t, closed, WithContextDir(ctxDir), args, WithHermetic(true))
		if err == nil {
			t.Fatalf("a hermetic RUN reached %s\n%s", url, progress)
		}
		t.Logf("hermetic wget: %v", err)
		if !strings.Contains(err.Error(), "wget") {
			t.Errorf("error does not name the failing RUN: %v", err)
		}
		if tagExists(t, closed) {
			t.Errorf("failed hermetic build pushed %s", closed)
		}

		// Without a RUN that needs the network, a hermetic build succeeds,
		// builds on a base given by tag that is already in storage, and
		// gives the same image as a build with network.
		ctxDir = writeContext(t, map[string]string{
			"Containerfile": "FROM " + f.busyboxTag + "\nRUN echo offline > /offline\n" +
				// The build's own loopback works: a test inside a build
				// may serve and fetch on 127.0.0.1.
				"RUN mkdir /www && echo loop > /www/index.html && (httpd -f -p 127.0.0.1:18080 -h /www & pid=$!; sleep 1; wget -q -O /loop http://127.0.0.1:18080/index.html; rc=$?; kill $pid; exit $rc)\n",
		})
		a, progress, err := f.build(t, f.reg+"/app/offline:net", WithContextDir(ctxDir), WithSourceDateEpoch(sde))
		if err != nil {
			t.Fatalf("Build: %v\n%s", err, progress)
		}
		b, progress, err := f.build(t, f.reg+"/app/offline:hermetic", WithContextDir(ctxDir), WithSourceDateEpoch(sde), WithHermetic(true))
		if err != nil {
			t.Fatalf("hermetic Build: %v\n%s", err, progress)
		}
		if a.Digest != b.Digest {
			t.Errorf("hermetic build digest %s, networked build %s\n%s", b.Digest, a.Digest, describeDiff(t, a.Ref, b.Ref))
		}
		img, _, _ = remoteImage(t, b.Ref)
		if got := files(t, img)["loop"].content; got != "loop\n" {
			t.Errorf("/loop = %q: the hermetic build's loopback did not work", got)
		}

		// A base given by tag that is not in storage cannot be pulled.
		ctxDir = writeContext(t, map[string]string{
			"Containerfile": "FROM " + f.reg + "/base/busybox:absent\nRUN true\n",
		})
		_, _, err = f.build(t, f.reg+"/app/offline:absent", WithContextDir(ctxDir), WithHermetic(true))
		t.Logf("hermetic absent: %v", err)
		if !errors.Is(err, errNoNetwork) {
			t.Errorf("hermetic build on an absent tag: got %v, want %v", err, errNoNetwork)
		}
	})

	// A RUN's exit status is the build's failure, named with its
	// instruction, never the step's exit status: nothing in the error
	// carries an ExitCode a caller could pass through.
	t.Run("run-fails", func(t *testing.T) {
		for _, tc := range []struct {
			name, run string
			hermetic  bool
			want      []string
		}{
			{"exit-7", "RUN exit 7", false, []string{`instruction "RUN exit 7" failed`, "exited with status 7"}},
			{"exit-7-hermetic", "RUN exit 7", true, []string{`instruction "RUN exit 7" failed`, "exited with status 7"}},
			// The shell reports its child's signal as 128+11.
			{"child-segfault", "RUN sh -c 'kill -SEGV $$'; exit $?", false, []string{"kill -SEGV", "status 139 (128+11: killed by signal segmentation fault)"}},
			// The RUN's own process is killed: buildah's runtime exits 1
			// and says why on stderr.
			{"segfault", "RUN kill -SEGV $$", false, []string{`instruction "RUN kill -SEGV $$" failed`, "killed by signal segmentation fault"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				ctxDir := writeContext(t, map[string]string{"Containerfile": "FROM " + f.busyboxRef + "\n" + tc.run + "\n"})
				image := f.reg + "/app/fails:" + tc.name
				_, progress, err := f.build(t, image, WithContextDir(ctxDir), WithHermetic(tc.hermetic))
				if err == nil {
					t.Fatalf("the build succeeded\n%s", progress)
				}
				for _, w := range tc.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
				var coder interface{ ExitCode() int }
				if errors.As(err, &coder) {
					t.Errorf("error carries exit code %d: %v", coder.ExitCode(), err)
				}
				if tagExists(t, image) {
					t.Errorf("failed build pushed %s", image)
				}
				st, err := openStore(f.storage)
				must(t, err)
				if ids, err := containerIDs(st); err != nil || len(ids) != 0 {
					t.Errorf("containers left in storage: %v %v", ids, err)
				}
			})
		}
	})

	t.Run("credentials", func(t *testing.T) {
		// A registry that wants a password for everything: the base pull
		// (containers/image) and the push (go-containerregistry) both take
		// it from $DOCKER_CONFIG/config.json, as Tekton mounts it.
		areg := authRegistry(t, "builder", "s3cret")
		base := areg + "/base/busybox:1"
		pushWithAuth(t, base, busyboxImage(t), "builder", "s3cret")
		ctxDir := writeContext(t, map[string]string{
			"Containerfile": "FROM " + base + "\nRUN echo authed > /authed\n",
		})

		t.Setenv("DOCKER_CONFIG", dockerConfig(t, map[string][2]string{}))
		_, _, err := f.build(t, areg+"/app/private:v1", WithContextDir(ctxDir))
		t.Logf("without credentials: %v", err)
		if err == nil || !strings.Contains(err.Error(), "cannot push") {
			t.Errorf("without credentials: got %v, want a push-access error before the build", err)
		}

		t.Setenv("DOCKER_CONFIG", dockerConfig(t, map[string][2]string{areg: {"builder", "s3cret"}}))
		res, progress, err := f.build(t, areg+"/app/private:v1", WithContextDir(ctxDir))
		if err != nil {
			t.Fatalf("Build: %v\n%s", err, progress)
		}
		if res.Base == nil || res.Base.Name != base {
			t.Errorf("Base = %+v, want %s", res.Base, base)
		}
		ref, err := name.ParseReference(areg + "/app/private:v1")
		must(t, err)
		desc, err := remote.Get(ref, remote.WithAuth(&authn.Basic{Username: "builder", Password: "s3cret"}))
		if err != nil {
			t.Fatal(err)
		}
		if desc.Digest.String() != res.Digest {
			t.Errorf("registry has %s, result %s", desc.Digest, res.Digest)
		}
	})

	t.Run("tls-verify", func(t *testing.T) {
		// A registry with a certificate nobody signed: refused unless the
		// user turns verification off, for the pull and for the push.
		srv := httptest.NewUnstartedServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
		srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are the point
		srv.StartTLS()
		t.Cleanup(srv.Close)
		treg := strings.TrimPrefix(srv.URL, "https://")
		tref, err := name.ParseReference(treg + "/base/busybox:1")
		must(t, err)
		must(t, remote.Write(tref, busyboxImage(t), remote.WithTransport(srv.Client().Transport)))
		ctxDir := writeContext(t, map[string]string{
			"Containerfile": "FROM " + treg + "/base/busybox:1\nRUN echo tls > /tls\n",
		})
		_, _, err = f.build(t, treg+"/app/tls:v1", WithContextDir(ctxDir))
		t.Logf("verifying: %v", err)
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("with TLS verification: got %v, want a certificate error", err)
		}
		res, progress, err := f.build(t, treg+"/app/tls:v1", WithContextDir(ctxDir), WithInsecureRegistries(true))
		if err != nil {
			t.Fatalf("--tls-verify=false: %v\n%s", err, progress)
		}
		desc, err := remote.Get(mustRef(t, treg+"/app/tls:v1"), remote.WithTransport(srv.Client().Transport))
		must(t, err)
		if desc.Digest.String() != res.Digest {
			t.Errorf("registry has %s, result %s", desc.Digest, res.Digest)
		}
	})

	t.Run("bad-input", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			files map[string]string
			image string
			opts  []Option
			want  []string
		}{
			{
				name:  "no-containerfile",
				files: map[string]string{"README": "x"},
				want:  []string{"no Containerfile or Dockerfile"},
			},
			{
				name:  "named-containerfile-missing",
				files: map[string]string{"Containerfile": "FROM scratch\n"},
				opts:  []Option{WithContainerfile("build/Containerfile.prod")},
				want:  []string{"build/Containerfile.prod", "not found"},
			},
			{
				name:  "syntax-error",
				files: map[string]string{"Containerfile": "FROM scratch\nCOPPY a /a\n"},
				want:  []string{"Containerfile", "line 2", "COPPY"},
			},
			{
				name:  "from-without-image",
				files: map[string]string{"Containerfile": "FROM\n"},
				want:  []string{"Containerfile", "FROM"},
			},
			{
				name:  "failing-run",
				files: map[string]string{"Containerfile": "FROM " + f.busyboxRef + "\nRUN echo about to fail && exit 3\n"},
				want:  []string{"Containerfile", "exit 3"},
			},
			{
				name:  "missing-base",
				files: map[string]string{"Containerfile": "FROM " + f.reg + "/base/nope:1\nRUN true\n"},
				want:  []string{"base image " + f.reg + "/base/nope:1"},
			},
			{
				name:  "missing-target",
				files: map[string]string{"Containerfile": "FROM scratch AS a\n"},
				opts:  []Option{WithTarget("b")},
				want:  []string{"no stage named \"b\""},
			},
			{
				name:  "unreachable-registry",
				files: map[string]string{"Containerfile": "FROM scratch\nCOPY a /a\n", "a": "a"},
				image: "127.0.0.1:1/app/unreachable:v1",
				want:  []string{"127.0.0.1:1", "cannot push"},
			},
		} {
			t.Run(tc.name, func(t *testing.T) {
				image := tc.image
				if image == "" {
					image = f.reg + "/bad/" + tc.name + ":v1"
				}
				opts := append([]Option{WithContextDir(writeContext(t, tc.files))}, tc.opts...)
				res, progress, err := f.build(t, image, opts...)
				if err == nil {
					t.Fatalf("Build succeeded (%+v), want an error\n%s", res, progress)
				}
				t.Logf("error: %v", err)
				for _, w := range tc.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				if strings.HasPrefix(image, f.reg+"/") && !strings.Contains(image, "@") && tagExists(t, image) {
					t.Errorf("a failed build pushed %s", image)
				}
			})
		}
	})

	t.Run("overlay", func(t *testing.T) {
		dir := t.TempDir()
		// overlayfs cannot stack on every filesystem (not on overlayfs,
		// as /tmp is in many CI containers); a tmpfs always works.
		tmpfs := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=256m") == nil
		t.Logf("overlay storage on a tmpfs: %v", tmpfs)
		o := *f
		o.storage = Storage{Driver: DriverOverlay, Root: filepath.Join(dir, "root"), RunRoot: filepath.Join(dir, "run")}
		t.Cleanup(func() {
			if st, err := openStore(o.storage); err == nil {
				_, _ = st.Shutdown(true)
			}
			if tmpfs {
				_ = unix.Unmount(dir, unix.MNT_DETACH)
			}
		})
		ctxDir := writeContext(t, map[string]string{
			"Containerfile": "FROM " + f.busyboxRef + "\nRUN echo overlay > /driver\n",
		})
		a, progress, err := o.build(t, f.reg+"/app/overlay:v1", WithContextDir(ctxDir), WithSourceDateEpoch(sde))
		if err != nil {
			t.Fatalf("Build with overlay: %v\n%s", err, progress)
		}
		// Same inputs through vfs: the storage driver must not change the
		// image.
		b, progress, err := f.build(t, f.reg+"/app/overlay:vfs", WithContextDir(ctxDir), WithSourceDateEpoch(sde))
		if err != nil {
			t.Fatalf("Build with vfs: %v\n%s", err, progress)
		}
		if a.Digest != b.Digest {
			t.Errorf("overlay digest %s, vfs digest %s\n%s", a.Digest, b.Digest, describeDiff(t, a.Ref, b.Ref))
		}
		if _, err := os.Stat(filepath.Join(o.storage.Root, "overlay")); err != nil {
			t.Errorf("overlay storage not used: %v", err)
		}
	})
}
