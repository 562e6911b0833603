package runner

import (
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/substitution"
)

type ptState int

const (
	ptPending ptState = iota
	ptRunning
	ptSucceeded
	ptFailed
	ptSkipped
)

type ptRun struct {
	pt       v1.PipelineTask
	finally  bool
	resolved *ResolvedTask
	spec     *v1.TaskSpec
	state    ptState
	skip     v1.SkippingReason
	when     v1.WhenExpressions
	tr       *v1.TaskRun
	deps     []string
}

func appendUnique(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

func applyToRef(ref *v1.TaskRef, r replacements) *v1.TaskRef {
	if ref == nil {
		return nil
	}
	out := ref.DeepCopy()
	out.Name = substitution.ApplyReplacements(out.Name, r.str)
	out.Params = out.Params.ReplaceVariables(r.str, r.arr, r.obj)
	return out
}
