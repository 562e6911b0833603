package tekton

import (
	"context"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1alpha1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"knative.dev/pkg/apis"
)

// admitted is what the Tekton webhook decodes, defaults and validates.
type admitted interface {
	metav1.Object
	runtime.Object
	apis.Defaultable
	apis.Validatable
}

// tektonKind is one apiVersion/kind that Tekton Pipelines v1.10 serves
// and its webhook admits (cmd/webhook's types).
type tektonKind struct {
	new func() admitted
	// convert turns the admitted object into the version trustline works
	// with (tekton.dev/v1, or v1beta1 for StepActions), with Tekton's own
	// conversion code, as the conversion webhook does before storage. Nil
	// when the object is already that version.
	convert func(ctx context.Context, from admitted) (admitted, error)
}

func convertTo[T any, PT interface {
	*T
	admitted
}](ctx context.Context, from admitted) (admitted, error) {
	to := PT(new(T))
	if err := from.(apis.Convertible).ConvertTo(ctx, any(to).(apis.Convertible)); err != nil {
		return nil, err
	}
	return to, nil
}

var tektonKinds = map[string]tektonKind{
	"tekton.dev/v1/Task":        {new: func() admitted { return &v1.Task{} }},
	"tekton.dev/v1/Pipeline":    {new: func() admitted { return &v1.Pipeline{} }},
	"tekton.dev/v1/TaskRun":     {new: func() admitted { return &v1.TaskRun{} }},
	"tekton.dev/v1/PipelineRun": {new: func() admitted { return &v1.PipelineRun{} }},

	"tekton.dev/v1beta1/Task":        {new: func() admitted { return &v1beta1.Task{} }, convert: convertTo[v1.Task]},
	"tekton.dev/v1beta1/Pipeline":    {new: func() admitted { return &v1beta1.Pipeline{} }, convert: convertTo[v1.Pipeline]},
	"tekton.dev/v1beta1/TaskRun":     {new: func() admitted { return &v1beta1.TaskRun{} }, convert: convertTo[v1.TaskRun]},
	"tekton.dev/v1beta1/PipelineRun": {new: func() admitted { return &v1beta1.PipelineRun{} }, convert: convertTo[v1.PipelineRun]},
	"tekton.dev/v1beta1/StepAction":  {new: func() admitted { return &v1beta1.StepAction{} }},
	"tekton.dev/v1beta1/CustomRun":   {new: func() admitted { return &v1beta1.CustomRun{} }},

	"tekton.dev/v1alpha1/StepAction":         {new: func() admitted { return &v1alpha1.StepAction{} }, convert: convertTo[v1beta1.StepAction]},
	"tekton.dev/v1alpha1/VerificationPolicy": {new: func() admitted { return &v1alpha1.VerificationPolicy{} }},
}

// otherKinds are Kubernetes objects that often sit beside Tekton
// resources in one file. They are decoded strictly into their own types
// (unknown fields and wrong types are errors, as the apiserver's strict
// field validation makes them); their semantics are the apiserver's and
// are not checked.
var otherKinds = map[string]func() any{
	"v1/ConfigMap":                      func() any { return &corev1.ConfigMap{} },
	"v1/Secret":                         func() any { return &corev1.Secret{} },
	"v1/PersistentVolumeClaim":          func() any { return &corev1.PersistentVolumeClaim{} },
	"v1/ServiceAccount":                 func() any { return &corev1.ServiceAccount{} },
	"v1/Service":                        func() any { return &corev1.Service{} },
	"v1/Namespace":                      func() any { return &corev1.Namespace{} },
	"v1/Pod":                            func() any { return &corev1.Pod{} },
	"v1/LimitRange":                     func() any { return &corev1.LimitRange{} },
	"v1/ResourceQuota":                  func() any { return &corev1.ResourceQuota{} },
	"apps/v1/Deployment":                func() any { return &appsv1.Deployment{} },
	"rbac.authorization.k8s.io/v1/Role": func() any { return &rbacv1.Role{} },
	"rbac.authorization.k8s.io/v1/RoleBinding":        func() any { return &rbacv1.RoleBinding{} },
	"rbac.authorization.k8s.io/v1/ClusterRole":        func() any { return &rbacv1.ClusterRole{} },
	"rbac.authorization.k8s.io/v1/ClusterRoleBinding": func() any { return &rbacv1.ClusterRoleBinding{} },
}
