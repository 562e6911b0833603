package admission

import (
	"encoding/json"
	"testing"
)

// FuzzDecodeReview: whatever the body, decoding and listing images never
// panic, and a review that decodes has a request with a uid.
func FuzzDecodeReview(f *testing.F) {
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"","version":"v1","kind":"Pod"},"object":{"spec":{"containers":[{"name":"a","image":"x"}],"initContainers":[{"image":"y"}],"ephemeralContainers":[{"image":"z"}]}}}}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"batch","version":"v1","kind":"CronJob"},"object":{"spec":{"jobTemplate":{"spec":{"template":{"spec":{"containers":[{"image":"x"}]}}}}}}}}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"apps","version":"v1","kind":"Deployment"},"object":{"spec":{"template":{"spec":{"containers":[{"image":1}]}}}}}}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"version":"v1","kind":"Pod"},"object":null}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ar, err := DecodeReview(b)
		if err != nil {
			return
		}
		if ar.Request == nil || ar.Request.UID == "" {
			t.Fatal("decoded a review without a request uid")
		}
		ims, err := Images(ar.Request)
		if err != nil {
			return
		}
		for _, im := range ims {
			if im.Field == "" || im.Field[0] != '/' {
				t.Fatalf("image %q without a JSON Pointer", im.Image)
			}
		}
		if _, err := json.Marshal(ims); err != nil {
			t.Fatal(err)
		}
	})
}

func TestImagesFieldsPerKind(t *testing.T) {
	raw := `{"spec":{"containers":[{"name":"a","image":"x"}],"initContainers":[{"name":"i","image":"y"}],"ephemeralContainers":[{"name":"e","image":"z"}]}}`
	ar, err := DecodeReview([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"","version":"v1","kind":"Pod"},"object":` + raw + `}}`))
	if err != nil {
		t.Fatal(err)
	}
	ims, err := Images(ar.Request)
	if err != nil {
		t.Fatal(err)
	}
	want := []ContainerImage{{"/spec/containers/0/image", "a", "x"}, {"/spec/initContainers/0/image", "i", "y"}, {"/spec/ephemeralContainers/0/image", "e", "z"}}
	if len(ims) != 3 || ims[0] != want[0] || ims[1] != want[1] || ims[2] != want[2] {
		t.Errorf("got %+v", ims)
	}
}
