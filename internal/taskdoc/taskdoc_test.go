package taskdoc

import (
	"strings"
	"testing"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

func sampleTask() *v1.Task {
	return &v1.Task{
		ObjectMeta: metav1.ObjectMeta{Name: "demo", Labels: map[string]string{"app.kubernetes.io/version": "1.2.3"},
			Annotations: map[string]string{"tekton.dev/displayName": "Demo task", "tekton.dev/platforms": "linux/amd64"}},
		Spec: v1.TaskSpec{
			Description: "Does a thing. Then more.",
			Params: []v1.ParamSpec{
				{Name: "url", Description: "Where | from."},
				{Name: "mode", Description: "How.", Default: v1.NewStructuredValues("fast")},
			},
			Results:    []v1.TaskResult{{Name: "IMAGE_DIGEST", Description: "The digest."}},
			Workspaces: []v1.WorkspaceDeclaration{{Name: "source", Description: "Sources."}, {Name: "cache", Optional: true}},
		},
	}
}

func TestTaskReadme(t *testing.T) {
	out := string(Task(sampleTask(), nil))
	for _, want := range []string{
		"# Demo task\n",
		"| `url` | string | (required) | Where \\| from. |",
		"| `mode` | string | `fast` | How. |",
		"| `IMAGE_DIGEST` | string | The digest. |",
		"| `source` | false | Sources. |",
		"value: ghcr.io/trustline-dev/task-demo:1.2@sha256:<digest from catalog.yaml>",
		"- name: url\n    value: <url>",
		KeepBegin + "\n" + KeepEnd,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("README lacks %q:\n%s", want, out)
		}
	}
	// The example run is valid YAML and names only required params and
	// workspaces.
	example := out[strings.Index(out, "```yaml\n")+8 : strings.LastIndex(out, "```")]
	var run v1.TaskRun
	if err := yaml.UnmarshalStrict([]byte(example), &run); err != nil {
		t.Fatalf("example TaskRun: %v\n%s", err, example)
	}
	if len(run.Spec.Params) != 1 || len(run.Spec.Workspaces) != 1 {
		t.Errorf("example has params %v, workspaces %v", run.Spec.Params, run.Spec.Workspaces)
	}
}

func TestKeptTextSurvives(t *testing.T) {
	first := Task(sampleTask(), nil)
	edited := strings.Replace(string(first), KeepBegin+"\n", KeepBegin+"\n## Notes\nmine\n", 1)
	again := string(Task(sampleTask(), []byte(edited)))
	if again != edited {
		t.Errorf("regeneration changed a README whose YAML did not change:\n%s", again)
	}
}

func TestIndex(t *testing.T) {
	readme := []byte("intro\n" + IndexBegin + "\nold\n" + IndexEnd + "\nrest\n")
	out, ok := ReplaceIndex(readme, Index([]IndexRow{{Kind: "task", Name: "a", Version: "0.1.0", ReadmePath: "tasks/a/0.1/README.md", Description: "Does a. More."}}))
	if !ok || !strings.Contains(string(out), "| task | [a](tasks/a/0.1/README.md) | 0.1.0 | Does a. |\n"+IndexEnd+"\nrest") || strings.Contains(string(out), "old") {
		t.Errorf("got:\n%s", out)
	}
	if _, ok := ReplaceIndex([]byte("no markers"), ""); ok {
		t.Error("no markers must report !ok")
	}
}
