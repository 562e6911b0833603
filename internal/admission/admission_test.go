package admission_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	jsonpatch "github.com/evanphx/json-patch/v5"
	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/trustline-dev/trustline/internal/admission"
	"github.com/trustline-dev/trustline/internal/signing"
	"github.com/trustline-dev/trustline/internal/signing/signingtest"
	"github.com/trustline-dev/trustline/internal/testregistry"
	"github.com/trustline-dev/trustline/internal/testregistry/faulty"
	"github.com/trustline-dev/trustline/internal/verify"
	"github.com/trustline-dev/trustline/internal/verify/ecp"
	"github.com/trustline-dev/trustline/internal/verify/fixture"
)

// env is a real registry on 127.0.0.1 behind a faulty proxy (which counts
// requests and injects errors), the signer of the fixture images and the
// policy pack trusting the fixture's tasks.
type env struct {
	reg    string // the registry, for pushing
	proxy  *faulty.Proxy
	signer *signing.Signer
	key    *signing.Verifier
	pol    *ecp.Policy
}

func newEnv(t testing.TB) *env {
	t.Helper()
	signer, verifier := signingtest.NewKeyPair(t)
	pdir, ddir := fixture.Policy(t)
	reg := testregistry.Start(t)
	rd := map[string]any{"trusted_tasks": fixture.TrustedTasks(time.Now().AddDate(-1, 0, 0), time.Time{})}
	return &env{reg: reg, proxy: faulty.Start(t, reg), signer: signer, key: verifier,
		pol: &ecp.Policy{Name: "gate", Sources: []ecp.Source{{Name: "pack", Policy: []string{pdir}, Data: []string{ddir}, RuleData: rd}}}}
}

// push pushes a signed and attested image (or, with signed false, the
// same without signature and attestations) to repo:latest and returns
// its tag and digest references through the proxy.
func (e *env) push(t testing.TB, repo string, signed bool, seed int64) (tag string, digest string) {
	t.Helper()
	im := fixture.Image{Repo: e.reg + "/" + repo, Signer: e.signer, Sign: signed, Provenance: signed, SBOM: signed, Scan: signed, Tests: signed,
		BaseImage: "quay.io/trustline/base:1", GitURL: "https://github.com/trustline-dev/example-app", Commit: strings.Repeat("ab", 20), Seed: seed}
	d, err := fixture.Push(context.Background(), im)
	if err != nil {
		t.Fatal(err)
	}
	return e.proxy.Host + "/" + repo + ":latest", e.proxy.Host + "/" + repo + "@" + d.DigestStr()
}

func (e *env) loader() admission.Loader {
	return func(ctx context.Context) (admission.Checker, func(), error) {
		v, err := verify.New(ctx, e.pol, e.key, verify.WithWorkers(4))
		if err != nil {
			return nil, nil, err
		}
		return v, v.Close, nil
	}
}

// gate starts the server behind a real HTTPS server on 127.0.0.1.
func (e *env) gate(t testing.TB, opts ...admission.Option) (*admission.Server, *httptest.Server) {
	t.Helper()
	s, err := admission.New(context.Background(), e.loader(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewTLSServer(s.Handler())
	// Keep a connection per concurrent client, as the API server keeps
	// its webhook connections (http.Transport keeps two per host).
	ts.Client().Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	t.Cleanup(func() { ts.Close(); s.Close() })
	return s, ts
}

func podSpec(image string) corev1.PodSpec {
	return corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "init", Image: image}},
		Containers:     []corev1.Container{{Name: "app", Image: image}},
	}
}

func tmpl(image string) corev1.PodTemplateSpec { return corev1.PodTemplateSpec{Spec: podSpec(image)} }

// object returns the workload of kind running image, as the API server
// would put it into a review.
func object(kind, image string) (runtime.Object, metav1.GroupVersionKind) {
	meta := metav1.ObjectMeta{Name: "app", Namespace: "gated"}
	switch kind {
	case "Pod":
		return &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: kind}, ObjectMeta: meta, Spec: podSpec(image)}, metav1.GroupVersionKind{Version: "v1", Kind: kind}
	case "Deployment":
		return &appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: kind}, ObjectMeta: meta, Spec: appsv1.DeploymentSpec{Template: tmpl(image)}}, apps(kind)
	case "StatefulSet":
		return &appsv1.StatefulSet{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: kind}, ObjectMeta: meta, Spec: appsv1.StatefulSetSpec{Template: tmpl(image)}}, apps(kind)
	case "DaemonSet":
		return &appsv1.DaemonSet{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: kind}, ObjectMeta: meta, Spec: appsv1.DaemonSetSpec{Template: tmpl(image)}}, apps(kind)
	case "ReplicaSet":
		return &appsv1.ReplicaSet{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: kind}, ObjectMeta: meta, Spec: appsv1.ReplicaSetSpec{Template: tmpl(image)}}, apps(kind)
	case "Job":
		return &batchv1.Job{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: kind}, ObjectMeta: meta, Spec: batchv1.JobSpec{Template: tmpl(image)}}, batch(kind)
	case "CronJob":
		return &batchv1.CronJob{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: kind}, ObjectMeta: meta,
			Spec: batchv1.CronJobSpec{Schedule: "@hourly", JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: tmpl(image)}}}}, batch(kind)
	}
	panic(kind)
}

func apps(k string) metav1.GroupVersionKind {
	return metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: k}
}
func batch(k string) metav1.GroupVersionKind {
	return metav1.GroupVersionKind{Group: "batch", Version: "v1", Kind: k}
}

var kinds = []string{"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"}

// review is the AdmissionReview JSON the API server posts for creating
// obj.
func review(t testing.TB, obj runtime.Object, gvk metav1.GroupVersionKind) []byte {
	t.Helper()
	raw, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	ar := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{UID: types.UID("uid-" + gvk.Kind), Kind: gvk, Name: "app", Namespace: "gated",
			Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: raw}},
	}
	b, err := json.Marshal(ar)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func post(t testing.TB, ts *httptest.Server, path string, body []byte) *admissionv1.AdmissionResponse {
	t.Helper()
	resp, err := ts.Client().Post(ts.URL+path, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %s: %s", path, resp.Status, b)
	}
	var ar admissionv1.AdmissionReview
	if err := json.Unmarshal(b, &ar); err != nil || ar.Response == nil {
		t.Fatalf("response %s: %v", b, err)
	}
	if ar.APIVersion != "admission.k8s.io/v1" || ar.Kind != "AdmissionReview" {
		t.Errorf("response TypeMeta %+v", ar.TypeMeta)
	}
	return ar.Response
}

func message(r *admissionv1.AdmissionResponse) string {
	if r.Result == nil {
		return ""
	}
	return r.Result.Message
}

// wantDenied fails the test unless r is a denial whose message holds each
// of wants; denied names what had to be denied, and explains what the
// message must say.
func wantDenied(t *testing.T, r *admissionv1.AdmissionResponse, denied, explains string, wants ...string) {
	t.Helper()
	if r.Allowed {
		t.Fatalf("%s was allowed", denied)
	}
	msg := message(r)
	t.Logf("denial: %s", msg)
	for _, w := range wants {
		if !strings.Contains(msg, w) {
			t.Errorf("denial should name %s:\n%s", explains, msg)
			return
		}
	}
}

func TestEveryKindSignedAllowedUnsignedDenied(t *testing.T) {
	e := newEnv(t)
	good, _ := e.push(t, "good", true, 1)
	bad, _ := e.push(t, "unsigned", false, 2)
	_, ts := e.gate(t)
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			r := post(t, ts, "/validate", rv(t, kind, good))
			if !r.Allowed || r.UID != types.UID("uid-"+kind) {
				t.Fatalf("signed image: allowed=%v uid=%s: %s", r.Allowed, r.UID, message(r))
			}
			r = post(t, ts, "/validate", rv(t, kind, bad))
			msg := message(r)
			if r.Allowed || r.Result.Code != http.StatusForbidden {
				t.Fatalf("unsigned image allowed: %+v", r)
			}
			for _, want := range []string{`image "` + bad + `"`, `container "app"`, `container "init"`, "builtin.image.signature_check", "sha256:"} {
				if !strings.Contains(msg, want) {
					t.Errorf("denial does not name %q:\n%s", want, msg)
				}
			}
		})
	}
}

// rv is the review of creating a kind running image.
func rv(t testing.TB, kind, image string) []byte {
	obj, gvk := object(kind, image)
	return review(t, obj, gvk)
}

// A tag moved to a rebuilt image (same repository, new digest, nothing
// signed for it) is denied although the old digest's verdict is cached.
func TestMovedTagDenied(t *testing.T) {
	e := newEnv(t)
	tag, _ := e.push(t, "app", true, 1)
	_, ts := e.gate(t)
	if r := post(t, ts, "/validate", rv(t, "Deployment", tag)); !r.Allowed {
		t.Fatalf("before the move: %s", message(r))
	}
	rebuilt := testregistry.PushRandom(t, e.reg+"/app:latest")
	wantDenied(t, post(t, ts, "/validate", rv(t, "Deployment", tag)), "the moved tag", "the tag, the rebuilt digest and the rule",
		"@"+rebuilt.DigestStr(), `image "`+tag+`"`, "builtin.image.signature_check")
}

func TestRegistryErrorFailsClosedUnlessFailOpen(t *testing.T) {
	e := newEnv(t)
	tag, _ := e.push(t, "app", true, 1)
	e.proxy.Set(&faulty.Rule{Path: "/manifests/", Fault: faulty.Status(http.StatusForbidden, "")})
	_, closed := e.gate(t)
	wantDenied(t, post(t, closed, "/validate", rv(t, "Pod", tag)), "a registry error (without --fail-open)", "the image and the registry error",
		`image "`+tag+`"`, "could not be verified", "403")
	_, open := e.gate(t, admission.WithFailOpen(true))
	r := post(t, open, "/validate", rv(t, "Pod", tag))
	if !r.Allowed || len(r.Warnings) != 2 || !strings.Contains(r.Warnings[0], tag) {
		t.Fatalf("fail open: allowed=%v warnings=%q", r.Allowed, r.Warnings)
	}
	// A policy violation is denied even when failing open.
	e.proxy.Set()
	bad, _ := e.push(t, "unsigned", false, 2)
	if r := post(t, open, "/validate", rv(t, "Pod", bad)); r.Allowed {
		t.Fatal("fail open allowed a policy violation")
	}
}

// The second review of the same digest makes no registry request; of the
// same tag, one HEAD.
func TestVerdictCache(t *testing.T) {
	e := newEnv(t)
	tag, dig := e.push(t, "app", true, 1)
	_, ts := e.gate(t)
	count := func() int { return len(e.proxy.Requests()) }
	before := count()
	if r := post(t, ts, "/validate", rv(t, "Pod", dig)); !r.Allowed {
		t.Fatal(message(r))
	}
	cold := count() - before
	if cold == 0 {
		t.Fatal("the first review made no registry request: the proxy is not in the path")
	}
	before = count()
	if r := post(t, ts, "/validate", rv(t, "Deployment", dig)); !r.Allowed {
		t.Fatal(message(r))
	}
	if n := count() - before; n != 0 {
		t.Errorf("cached digest: %d registry requests, want 0: %v", n, e.proxy.Requests()[before:])
	}
	before = count()
	if r := post(t, ts, "/validate", rv(t, "Job", tag)); !r.Allowed {
		t.Fatal(message(r))
	}
	reqs := e.proxy.Requests()[before:]
	heads := 0
	for _, q := range reqs {
		if q.Method == http.MethodHead && strings.Contains(q.Path, "/manifests/latest") {
			heads++
		}
	}
	if heads != 1 || len(reqs) > 2 { // the HEAD, and at most a /v2/ ping
		t.Errorf("cached verdict by tag: %v, want one HEAD of the tag", reqs)
	}
	t.Logf("registry requests: %d cold, 0 for a cached digest, %d for a cached tag", cold, len(reqs))
}

func TestVerdictCacheTTLAndBound(t *testing.T) {
	e := newEnv(t)
	_, d1 := e.push(t, "one", true, 1)
	_, d2 := e.push(t, "two", true, 2)
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	_, ts := e.gate(t, admission.WithCache(1, time.Minute), admission.WithClock(clock))
	count := func() int { return len(e.proxy.Requests()) }
	reviewN := func(d string) int {
		before := count()
		if r := post(t, ts, "/validate", rv(t, "Pod", d)); !r.Allowed {
			t.Fatal(message(r))
		}
		return count() - before
	}
	reviewN(d1)
	if n := reviewN(d1); n != 0 {
		t.Errorf("within the TTL: %d requests", n)
	}
	reviewN(d2) // evicts d1: the cache holds one verdict
	if n := reviewN(d1); n == 0 {
		t.Error("d1 still cached past the size bound")
	}
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	if n := reviewN(d1); n == 0 {
		t.Error("d1 still cached past the TTL")
	}
}

func TestMutatePinsVerifiedDigests(t *testing.T) {
	e := newEnv(t)
	tag, dig := e.push(t, "app", true, 1)
	_, ts := e.gate(t)
	obj, gvk := object("CronJob", tag)
	cj := obj.(*batchv1.CronJob)
	cj.Spec.JobTemplate.Spec.Template.Spec.Containers = append(cj.Spec.JobTemplate.Spec.Template.Spec.Containers, corev1.Container{Name: "pinned", Image: dig})
	body := review(t, cj, gvk)
	r := post(t, ts, "/mutate", body)
	if !r.Allowed || r.PatchType == nil || *r.PatchType != admissionv1.PatchTypeJSONPatch {
		t.Fatalf("mutate: allowed=%v patchType=%v: %s", r.Allowed, r.PatchType, message(r))
	}
	p, err := jsonpatch.DecodePatch(r.Patch)
	if err != nil {
		t.Fatalf("patch %s: %v", r.Patch, err)
	}
	if len(p) != 2 {
		t.Errorf("patch %s: want two operations (the tagged container and init container; the pinned one unchanged)", r.Patch)
	}
	raw, _ := json.Marshal(cj)
	out, err := p.Apply(raw)
	if err != nil {
		t.Fatal(err)
	}
	var got batchv1.CronJob
	json.Unmarshal(out, &got)
	spec := got.Spec.JobTemplate.Spec.Template.Spec
	for _, c := range append(spec.Containers, spec.InitContainers...) {
		if c.Image != dig {
			t.Errorf("container %s runs %s, want %s", c.Name, c.Image, dig)
		}
	}
	// The validating endpoint never patches; an unsigned image gets no patch.
	if r := post(t, ts, "/validate", body); r.Patch != nil {
		t.Errorf("/validate returned a patch")
	}
	bad, _ := e.push(t, "unsigned", false, 2)
	if r := post(t, ts, "/mutate", rv(t, "Pod", bad)); r.Allowed || r.Patch != nil {
		t.Errorf("/mutate of an unsigned image: allowed=%v patch=%s", r.Allowed, r.Patch)
	}
}

func TestBadRequestsAndEndpoints(t *testing.T) {
	e := newEnv(t)
	s, ts := e.gate(t)
	c := ts.Client()
	for _, body := range []string{"", "{", `{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"x"}}`, `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`} {
		resp, err := c.Post(ts.URL+"/validate", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "bad AdmissionReview") {
			t.Errorf("%q: %s %s", body, resp.Status, b)
		}
	}
	// A kind the gate does not know is denied, never let through.
	raw, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "ConfigMap"})
	ar, _ := json.Marshal(admissionv1.AdmissionReview{TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{UID: "u", Kind: metav1.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, Object: runtime.RawExtension{Raw: raw}}})
	if r := post(t, ts, "/validate", ar); r.Allowed || !strings.Contains(message(r), "unsupported kind /v1/ConfigMap") {
		t.Errorf("ConfigMap: allowed=%v %s", r.Allowed, message(r))
	}
	// A DELETE carries no object: nothing to check.
	ar, _ = json.Marshal(admissionv1.AdmissionReview{TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{UID: "d", Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}, Operation: admissionv1.Delete}})
	if r := post(t, ts, "/validate", ar); !r.Allowed {
		t.Errorf("DELETE denied: %s", message(r))
	}
	get := func(path string) (int, string) {
		resp, err := c.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz %d", code)
	}
	if code, _ := get("/readyz"); code != 200 {
		t.Errorf("/readyz %d", code)
	}
	code, m := get("/metrics")
	for _, want := range []string{`trustline_gate_reviews_total{endpoint="validate",kind="ConfigMap",result="denied"} 1`, `trustline_gate_reviews_total{endpoint="validate",kind="",result="bad_request"} 4`,
		"trustline_gate_review_duration_seconds_bucket", `trustline_gate_policy_loads_total{result="ok"} 1`, "trustline_gate_verdict_cache_entries 0"} {
		if code != 200 || !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	s.Drain()
	if code, _ := get("/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz while draining: %d", code)
	}
}

// An image whose provenance names a task the policy does not trust (the
// scan task's bundle is missing from trusted_tasks) is denied with the
// trusted_task rule named.
func TestUntrustedTaskDenied(t *testing.T) {
	e := newEnv(t)
	tag, _ := e.push(t, "app", true, 1)
	tt := fixture.TrustedTasks(time.Now().AddDate(-1, 0, 0), time.Time{})
	delete(tt, fixture.TaskBundleRepo+"scan:0.1")
	e.pol.Sources[0].RuleData = map[string]any{"trusted_tasks": tt}
	_, ts := e.gate(t)
	wantDenied(t, post(t, ts, "/validate", rv(t, "Deployment", tag)), "an image built by an untrusted task", "the image, the trusted_task rule and the task",
		`image "`+tag+`"`, "trusted_task.", "scan")
}
