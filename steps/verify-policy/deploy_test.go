package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	"github.com/trustline-dev/trustline/internal/admission"
)

// cert-manager's types are not a dependency of this module; these mirror
// the fields of cert-manager.io/v1 Issuer and Certificate that
// deploy/cert-manager.yaml uses (names and JSON tags as in
// github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1), so a
// misspelt field still fails the strict decode.
type cmIssuer struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		SelfSigned *struct{} `json:"selfSigned,omitempty"`
		CA         *struct {
			SecretName string `json:"secretName"`
		} `json:"ca,omitempty"`
	} `json:"spec"`
}

type cmCertificate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		IsCA        bool            `json:"isCA,omitempty"`
		CommonName  string          `json:"commonName,omitempty"`
		DNSNames    []string        `json:"dnsNames,omitempty"`
		SecretName  string          `json:"secretName"`
		Duration    metav1.Duration `json:"duration,omitempty"`
		RenewBefore metav1.Duration `json:"renewBefore,omitempty"`
		PrivateKey  struct {
			Algorithm string `json:"algorithm,omitempty"`
			Size      int    `json:"size,omitempty"`
		} `json:"privateKey,omitempty"`
		Usages    []string `json:"usages,omitempty"`
		IssuerRef struct {
			Name  string `json:"name"`
			Kind  string `json:"kind,omitempty"`
			Group string `json:"group,omitempty"`
		} `json:"issuerRef"`
	} `json:"spec"`
}

// manifests decodes every document of deploy/*.yaml strictly (unknown or
// duplicate fields fail) into its Kubernetes type, keyed "Kind/name".
func manifests(t *testing.T) map[string]any {
	t.Helper()
	files, err := filepath.Glob("../../deploy/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no deploy/*.yaml: %v", err)
	}
	out := map[string]any{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(b), -1) {
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
				t.Fatalf("%s document %d: %v", f, i, err)
			}
			if tm.Kind == "" {
				continue // comments only
			}
			var obj any
			switch tm.APIVersion + "/" + tm.Kind {
			case "v1/Namespace":
				obj = &corev1.Namespace{}
			case "v1/ServiceAccount":
				obj = &corev1.ServiceAccount{}
			case "v1/Service":
				obj = &corev1.Service{}
			case "rbac.authorization.k8s.io/v1/Role":
				obj = &rbacv1.Role{}
			case "apps/v1/Deployment":
				obj = &appsv1.Deployment{}
			case "policy/v1/PodDisruptionBudget":
				obj = &policyv1.PodDisruptionBudget{}
			case "admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration":
				obj = &admissionregistrationv1.ValidatingWebhookConfiguration{}
			case "admissionregistration.k8s.io/v1/MutatingWebhookConfiguration":
				obj = &admissionregistrationv1.MutatingWebhookConfiguration{}
			case "cert-manager.io/v1/Issuer":
				obj = &cmIssuer{}
			case "cert-manager.io/v1/Certificate":
				obj = &cmCertificate{}
			default:
				t.Fatalf("%s document %d: %s %s has no type in this test", f, i, tm.APIVersion, tm.Kind)
			}
			if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
				t.Fatalf("%s document %d (%s): %v", f, i, tm.Kind, err)
			}
			meta := obj.(metav1.Object)
			key := tm.Kind + "/" + meta.GetName()
			if _, dup := out[key]; dup {
				t.Fatalf("%s: %s twice", f, key)
			}
			namespaced := tm.Kind != "Namespace" && !strings.HasSuffix(tm.Kind, "WebhookConfiguration")
			om := metav1.ObjectMeta{Name: meta.GetName(), Namespace: meta.GetNamespace(), Labels: meta.GetLabels(), Annotations: meta.GetAnnotations()}
			nameFn := apivalidation.NameIsDNSSubdomain
			if tm.Kind == "Namespace" || tm.Kind == "Service" {
				nameFn = apivalidation.NameIsDNSLabel
			}
			if errs := apivalidation.ValidateObjectMeta(&om, namespaced, nameFn, field.NewPath("metadata")); len(errs) > 0 {
				t.Errorf("%s %s: %v", f, key, errs.ToAggregate())
			}
			if namespaced && meta.GetNamespace() != "trustline-gate" {
				t.Errorf("%s %s: namespace %q, want trustline-gate", f, key, meta.GetNamespace())
			}
			out[key] = obj
		}
	}
	return out
}

func get[T any](t *testing.T, m map[string]any, key string) T {
	t.Helper()
	v, ok := m[key].(T)
	if !ok {
		t.Fatalf("deploy/: no %s", key)
	}
	return v
}

func selectorOK(t *testing.T, what string, sel *metav1.LabelSelector, podLabels map[string]string) {
	t.Helper()
	if errs := metav1validation.ValidateLabelSelector(sel, metav1validation.LabelSelectorValidationOptions{}, field.NewPath(what)); len(errs) > 0 {
		t.Errorf("%s: %v", what, errs.ToAggregate())
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil || s.Empty() || !s.Matches(labels.Set(podLabels)) {
		t.Errorf("%s %v does not select the gate's pods %v (%v)", what, sel, podLabels, err)
	}
}

// The install manifests decode into Kubernetes' own types and hang
// together: the Service selects the Deployment's pods and targets its
// port, the webhooks call that Service on paths the server serves, with
// the gate's namespaceSelector, for every kind it reviews; the container's
// arguments are flags of `verify-policy serve`, its mounts are volumes,
// and the certificate's Secret is the one mounted.
func TestDeployManifests(t *testing.T) {
	m := manifests(t)
	get[*corev1.Namespace](t, m, "Namespace/trustline-gate")
	sa := get[*corev1.ServiceAccount](t, m, "ServiceAccount/trustline-gate")
	if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		t.Error("the gate calls no API: its ServiceAccount should not mount a token")
	}
	get[*rbacv1.Role](t, m, "Role/trustline-gate-policy-editor")
	dep := get[*appsv1.Deployment](t, m, "Deployment/trustline-gate")
	pod := dep.Spec.Template
	selectorOK(t, "Deployment.spec.selector", dep.Spec.Selector, pod.Labels)
	pdb := get[*policyv1.PodDisruptionBudget](t, m, "PodDisruptionBudget/trustline-gate")
	selectorOK(t, "PodDisruptionBudget.spec.selector", pdb.Spec.Selector, pod.Labels)
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas < 2 {
		t.Error("fail-closed webhooks need more than one replica")
	}
	if pod.Spec.ServiceAccountName != sa.Name {
		t.Errorf("serviceAccountName %q", pod.Spec.ServiceAccountName)
	}
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("containers: %d", len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	if !regexp.MustCompile(`^[^@]+/step-verify-policy@sha256:[0-9a-f]{64}$`).MatchString(c.Image) {
		t.Errorf("image %q: pin step-verify-policy by digest", c.Image)
	}
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("container securityContext: want a read-only root and no privilege escalation")
	}

	// The same image and binary as the verify-policy task's step.
	taskYAML, err := os.ReadFile("../../tasks/verify-policy/0.1/verify-policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var task struct {
		Spec struct {
			Steps []corev1.Container `json:"steps"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(taskYAML, &task); err != nil || len(task.Spec.Steps) == 0 {
		t.Fatalf("the verify-policy task: %v", err)
	}
	step := task.Spec.Steps[0]
	if c.Image != step.Image || fmt.Sprint(c.Command) != fmt.Sprint(step.Command) {
		t.Errorf("gate runs %s %v, the task's step %s %v", c.Image, c.Command, step.Image, step.Command)
	}

	// Arguments: the subcommand and its flags, parsed by the real command.
	if len(c.Args) == 0 || c.Args[0] != "serve" {
		t.Fatalf("args %q: want serve first", c.Args)
	}
	flags := map[string]bool{}
	for _, f := range serveCommand().Flags {
		for _, n := range f.Names() {
			flags[n] = true
		}
	}
	args := map[string]string{}
	for _, a := range c.Args[1:] {
		k, v, ok := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !ok || !flags[k] {
			t.Errorf("argument %q is not --FLAG=VALUE of verify-policy serve", a)
		}
		args[k] = v
	}
	for _, req := range []string{"tls-cert-file", "tls-key-file", "public-key"} {
		if args[req] == "" {
			t.Errorf("no --%s", req)
		}
	}
	mounted := func(path string) string {
		for _, vm := range c.VolumeMounts {
			if strings.HasPrefix(path, vm.MountPath+"/") {
				return vm.Name
			}
		}
		t.Errorf("%s is on no volume mount", path)
		return ""
	}
	vols := map[string]corev1.Volume{}
	for _, v := range pod.Spec.Volumes {
		vols[v.Name] = v
	}
	for _, vm := range c.VolumeMounts {
		if _, ok := vols[vm.Name]; !ok {
			t.Errorf("volumeMount %s: no such volume", vm.Name)
		}
	}
	tlsVol := vols[mounted(args["tls-cert-file"])]
	if mounted(args["tls-key-file"]) != tlsVol.Name || tlsVol.Secret == nil {
		t.Fatalf("the TLS files should come from one Secret volume: %+v", tlsVol)
	}
	polVol := vols[mounted(args["public-key"])]
	if polVol.ConfigMap == nil || polVol.ConfigMap.Name != "trustline-gate-policy" || mounted(args["rule-data"]) != polVol.Name {
		t.Errorf("key and rule data should come from the trustline-gate-policy ConfigMap: %+v", polVol)
	}

	// Probes and the Service point at the container's port, by name.
	port := c.Ports[0]
	for name, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Scheme != corev1.URISchemeHTTPS || p.HTTPGet.Port.String() != port.Name {
			t.Errorf("%s probe: want HTTPS on port %s: %+v", name, port.Name, p)
		}
	}
	if c.LivenessProbe.HTTPGet.Path != "/healthz" || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Error("probes: /healthz and /readyz")
	}
	if !strings.HasSuffix(args["listen"], fmt.Sprint(":", port.ContainerPort)) {
		t.Errorf("--listen=%s but containerPort %d", args["listen"], port.ContainerPort)
	}
	svc := get[*corev1.Service](t, m, "Service/trustline-gate")
	if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(pod.Labels)) || len(svc.Spec.Selector) == 0 {
		t.Errorf("Service selector %v does not select %v", svc.Spec.Selector, pod.Labels)
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort.String() != port.Name {
		t.Errorf("Service ports %+v: want targetPort %s", svc.Spec.Ports, port.Name)
	}

	// The webhooks.
	kinds := map[string]bool{}
	for _, k := range admission.Kinds() {
		kinds[k] = true
	}
	resourceKind := map[string]string{"/pods": "/v1/Pod", "/pods/ephemeralcontainers": "/v1/Pod", "apps/deployments": "apps/v1/Deployment",
		"apps/statefulsets": "apps/v1/StatefulSet", "apps/daemonsets": "apps/v1/DaemonSet", "apps/replicasets": "apps/v1/ReplicaSet",
		"batch/jobs": "batch/v1/Job", "batch/cronjobs": "batch/v1/CronJob"}
	check := func(what string, cc admissionregistrationv1.WebhookClientConfig, path string, ns *metav1.LabelSelector, rules []admissionregistrationv1.RuleWithOperations,
		fp *admissionregistrationv1.FailurePolicyType, se *admissionregistrationv1.SideEffectClass, timeout *int32, versions []string) {
		t.Helper()
		if cc.Service == nil || cc.Service.Name != svc.Name || cc.Service.Namespace != svc.Namespace || cc.Service.Path == nil || *cc.Service.Path != path ||
			cc.Service.Port == nil || *cc.Service.Port != svc.Spec.Ports[0].Port {
			t.Errorf("%s: clientConfig %+v: want service %s/%s port %d path %s", what, cc.Service, svc.Namespace, svc.Name, svc.Spec.Ports[0].Port, path)
		}
		if ns == nil || ns.MatchLabels["trustline.dev/deploy-gate"] != "enabled" {
			t.Errorf("%s: namespaceSelector %v: want trustline.dev/deploy-gate=enabled", what, ns)
		} else if errs := metav1validation.ValidateLabelSelector(ns, metav1validation.LabelSelectorValidationOptions{}, field.NewPath(what)); len(errs) > 0 {
			t.Error(errs.ToAggregate())
		}
		if fp == nil || *fp != admissionregistrationv1.Fail {
			t.Errorf("%s: failurePolicy: want Fail (the gate fails closed)", what)
		}
		if se == nil || *se != admissionregistrationv1.SideEffectClassNone {
			t.Errorf("%s: sideEffects: want None", what)
		}
		if timeout == nil || *timeout < 1 || *timeout > 30 {
			t.Errorf("%s: timeoutSeconds must be 1-30", what)
		} else if d, err := time.ParseDuration(args["review-timeout"]); err != nil || d >= time.Duration(*timeout)*time.Second {
			t.Errorf("%s: --review-timeout=%s must be under timeoutSeconds %d, so the API server gets the gate's answer (%v)", what, args["review-timeout"], *timeout, err)
		}
		if len(versions) != 1 || versions[0] != "v1" {
			t.Errorf("%s: admissionReviewVersions %v: the server speaks v1 only", what, versions)
		}
		covered := map[string]bool{}
		for _, r := range rules {
			for _, g := range r.APIGroups {
				for _, res := range r.Resources {
					k, ok := resourceKind[g+"/"+res]
					if !ok {
						t.Errorf("%s: rule for %s/%s, a resource the server does not review", what, g, res)
					}
					covered[k] = true
				}
			}
			if strings.Join(r.APIVersions, ",") != "v1" {
				t.Errorf("%s: apiVersions %v", what, r.APIVersions)
			}
			ops := fmt.Sprint(r.Operations)
			if ops != "[CREATE UPDATE]" {
				t.Errorf("%s: operations %s: want CREATE and UPDATE", what, ops)
			}
		}
		var missing []string
		for k := range kinds {
			if !covered[k] {
				missing = append(missing, k)
			}
		}
		sort.Strings(missing)
		if len(missing) > 0 {
			t.Errorf("%s: no rule for %v", what, missing)
		}
	}
	vwc := get[*admissionregistrationv1.ValidatingWebhookConfiguration](t, m, "ValidatingWebhookConfiguration/trustline-gate")
	mwc := get[*admissionregistrationv1.MutatingWebhookConfiguration](t, m, "MutatingWebhookConfiguration/trustline-gate")
	if len(vwc.Webhooks) != 1 || len(mwc.Webhooks) != 1 {
		t.Fatal("one webhook in each configuration")
	}
	v, mu := vwc.Webhooks[0], mwc.Webhooks[0]
	check("validating webhook", v.ClientConfig, "/validate", v.NamespaceSelector, v.Rules, v.FailurePolicy, v.SideEffects, v.TimeoutSeconds, v.AdmissionReviewVersions)
	check("mutating webhook", mu.ClientConfig, "/mutate", mu.NamespaceSelector, mu.Rules, mu.FailurePolicy, mu.SideEffects, mu.TimeoutSeconds, mu.AdmissionReviewVersions)
	if mu.ReinvocationPolicy == nil || *mu.ReinvocationPolicy != admissionregistrationv1.IfNeededReinvocationPolicy {
		t.Error("mutating webhook: reinvocationPolicy IfNeeded, so an image another webhook changes is pinned again")
	}
	if v.Name == mu.Name || len(strings.Split(v.Name, ".")) < 3 {
		t.Errorf("webhook names %q %q: fully qualified and distinct", v.Name, mu.Name)
	}

	// cert-manager: the serving certificate lands in the mounted Secret,
	// for the Service's DNS name, and the webhooks' CA injection names it.
	cert := get[*cmCertificate](t, m, "Certificate/trustline-gate")
	if cert.Spec.SecretName != tlsVol.Secret.SecretName {
		t.Errorf("Certificate secretName %q, mounted %q", cert.Spec.SecretName, tlsVol.Secret.SecretName)
	}
	dns := svc.Name + "." + svc.Namespace + ".svc"
	if len(cert.Spec.DNSNames) == 0 || cert.Spec.DNSNames[0] != dns {
		t.Errorf("Certificate dnsNames %v: want %s", cert.Spec.DNSNames, dns)
	}
	issuers := map[string]bool{}
	for k := range m {
		if strings.HasPrefix(k, "Issuer/") {
			issuers[strings.TrimPrefix(k, "Issuer/")] = true
		}
	}
	for k, o := range m {
		if c, ok := o.(*cmCertificate); ok && (c.Spec.IssuerRef.Kind != "Issuer" || !issuers[c.Spec.IssuerRef.Name]) {
			t.Errorf("%s: issuerRef %+v names no Issuer here", k, c.Spec.IssuerRef)
		}
	}
	for _, a := range []string{vwc.Annotations["cert-manager.io/inject-ca-from"], mwc.Annotations["cert-manager.io/inject-ca-from"]} {
		if a != cert.Namespace+"/"+cert.Name {
			t.Errorf("inject-ca-from %q: want %s/%s", a, cert.Namespace, cert.Name)
		}
	}
}

// deploy/self-signed-cert.sh --no-apply writes a CA and a certificate
// the server loads and that verifies for the Service's DNS name.
func TestSelfSignedCertScript(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	dir := t.TempDir()
	out, err := exec.Command("../../deploy/self-signed-cert.sh", "--out", dir, "--no-apply").CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if _, err := newCertReloader(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")); err != nil {
		t.Fatal(err)
	}
	pair, _ := tls.LoadX509KeyPair(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"))
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	caPEM, _ := os.ReadFile(filepath.Join(dir, "ca.crt"))
	blk, _ := pem.Decode(caPEM)
	ca, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "trustline-gate.trustline-gate.svc", Roots: pool}); err != nil {
		t.Error(err)
	}
}
