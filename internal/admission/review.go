package admission

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// MaxReviewBytes bounds an AdmissionReview body. The API server caps a
// request object at 3 MiB (etcd's limit) and a review carries the object
// and the old object.
const MaxReviewBytes = 7 << 20

// ErrBadReview marks an AdmissionReview that cannot be answered: not JSON,
// not admission.k8s.io/v1, no request or uid, or an object that does not
// decode as its kind.
var ErrBadReview = errors.New("bad AdmissionReview")

// DecodeReview parses an admission.k8s.io/v1 AdmissionReview request, as
// the API server posts it. It is the one parser of untrusted input here
// (FuzzDecodeReview).
func DecodeReview(b []byte) (*admissionv1.AdmissionReview, error) {
	if len(b) > MaxReviewBytes {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrBadReview, len(b), MaxReviewBytes)
	}
	var ar admissionv1.AdmissionReview
	if err := json.Unmarshal(b, &ar); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadReview, err)
	}
	if ar.APIVersion != "admission.k8s.io/v1" || ar.Kind != "AdmissionReview" {
		return nil, fmt.Errorf("%w: apiVersion %q kind %q, want admission.k8s.io/v1 AdmissionReview (set admissionReviewVersions: [v1])", ErrBadReview, ar.APIVersion, ar.Kind)
	}
	if ar.Request == nil {
		return nil, fmt.Errorf("%w: no request", ErrBadReview)
	}
	if ar.Request.UID == "" {
		return nil, fmt.Errorf("%w: request without uid", ErrBadReview)
	}
	return &ar, nil
}

// ContainerImage is one image a pod spec names, with the JSON Pointer of
// its image field in the reviewed object (for the patch).
type ContainerImage struct {
	// Field is the JSON Pointer of the image field, for example
	// /spec/template/spec/initContainers/0/image.
	Field string
	// Container is the container's name.
	Container string
	Image     string
}

// podSpecPath is where each reviewed kind keeps its pod spec.
var podSpecPath = map[string]string{
	"/v1/Pod":             "/spec",
	"apps/v1/Deployment":  "/spec/template/spec",
	"apps/v1/StatefulSet": "/spec/template/spec",
	"apps/v1/DaemonSet":   "/spec/template/spec",
	"apps/v1/ReplicaSet":  "/spec/template/spec",
	"batch/v1/Job":        "/spec/template/spec",
	"batch/v1/CronJob":    "/spec/jobTemplate/spec/template/spec",
}

// Kinds lists the reviewed kinds as group/version/kind ("" is the core
// group).
func Kinds() []string {
	return []string{"/v1/Pod", "apps/v1/Deployment", "apps/v1/StatefulSet", "apps/v1/DaemonSet", "apps/v1/ReplicaSet", "batch/v1/Job", "batch/v1/CronJob"}
}

// ErrUnsupportedKind is the error of a review of a kind without a pod
// spec this package knows.
var ErrUnsupportedKind = errors.New("unsupported kind")

// Images returns every container, init container and ephemeral container
// image of the reviewed object's pod spec, in that order. A request
// without an object (a DELETE) has none.
func Images(req *admissionv1.AdmissionRequest) ([]ContainerImage, error) {
	gvk := req.Kind.Group + "/" + req.Kind.Version + "/" + req.Kind.Kind
	base, ok := podSpecPath[gvk]
	if !ok {
		return nil, fmt.Errorf("%w %s (want one of %s)", ErrUnsupportedKind, gvk, strings.Join(Kinds(), ", "))
	}
	if len(req.Object.Raw) == 0 {
		return nil, nil
	}
	spec, err := podSpec(req.Kind.Kind, req.Object.Raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %s/%s: %v", ErrBadReview, req.Kind.Kind, req.Namespace, req.Name, err)
	}
	var out []ContainerImage
	add := func(field, name, image string) {
		out = append(out, ContainerImage{Field: field, Container: name, Image: image})
	}
	for i, c := range spec.Containers {
		add(base+"/containers/"+strconv.Itoa(i)+"/image", c.Name, c.Image)
	}
	for i, c := range spec.InitContainers {
		add(base+"/initContainers/"+strconv.Itoa(i)+"/image", c.Name, c.Image)
	}
	for i, c := range spec.EphemeralContainers {
		add(base+"/ephemeralContainers/"+strconv.Itoa(i)+"/image", c.Name, c.Image)
	}
	return out, nil
}

func podSpec(kind string, raw []byte) (*corev1.PodSpec, error) {
	switch kind {
	case "Pod":
		return specOf(raw, func(o *corev1.Pod) *corev1.PodSpec { return &o.Spec })
	case "Deployment":
		return specOf(raw, func(o *appsv1.Deployment) *corev1.PodSpec { return &o.Spec.Template.Spec })
	case "StatefulSet":
		return specOf(raw, func(o *appsv1.StatefulSet) *corev1.PodSpec { return &o.Spec.Template.Spec })
	case "DaemonSet":
		return specOf(raw, func(o *appsv1.DaemonSet) *corev1.PodSpec { return &o.Spec.Template.Spec })
	case "ReplicaSet":
		return specOf(raw, func(o *appsv1.ReplicaSet) *corev1.PodSpec { return &o.Spec.Template.Spec })
	case "Job":
		return specOf(raw, func(o *batchv1.Job) *corev1.PodSpec { return &o.Spec.Template.Spec })
	case "CronJob":
		return specOf(raw, func(o *batchv1.CronJob) *corev1.PodSpec { return &o.Spec.JobTemplate.Spec.Template.Spec })
	}
	return nil, fmt.Errorf("%w %s", ErrUnsupportedKind, kind)
}

// specOf decodes raw as a T and returns the pod spec spec finds in it.
// The spec is returned with the decoding error, as json.Unmarshal leaves
// what it could decode.
func specOf[T any](raw []byte, spec func(*T) *corev1.PodSpec) (*corev1.PodSpec, error) {
	var o T
	err := json.Unmarshal(raw, &o)
	return spec(&o), err
}

// PatchOp is one RFC 6902 operation.
type PatchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}
