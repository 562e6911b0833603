package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/sys/mountinfo"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"knative.dev/pkg/apis"

	"github.com/trustline-dev/trustline/internal/tekton"
)

// binDir holds the test's step binaries: tstep (testdata/tstep) and the
// real git-clone step.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "runner-bin-")
	if err != nil {
		panic(err)
	}
	for pkg, out := range map[string]string{"./testdata/tstep": "tstep", "../../steps/git-clone": "git-clone"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, out), pkg)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "building %s: %v\n", pkg, err)
			os.Exit(2)
		}
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func newRunner(t *testing.T, opts ...Option) (*Runner, *bytes.Buffer) {
	t.Helper()
	var progress bytes.Buffer
	r, err := New(append([]Option{WithBinDir(binDir), WithWorkDir(t.TempDir()), WithProgress(&progress)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return r, &progress
}

func loadTask(t *testing.T, file string) *v1.Task {
	t.Helper()
	task, err := tekton.LoadTask(context.Background(), filepath.Join("testdata", file))
	if err != nil {
		t.Fatalf("fixture %s: %v", file, err)
	}
	return task
}

func loadPipeline(t *testing.T, file string) *v1.Pipeline {
	t.Helper()
	p, err := tekton.LoadPipeline(context.Background(), filepath.Join("testdata", file))
	if err != nil {
		t.Fatalf("fixture %s: %v", file, err)
	}
	return p
}

func taskResults(tr *v1.TaskRun) map[string]string {
	out := map[string]string{}
	for _, r := range tr.Status.Results {
		out[r.Name] = r.Value.StringVal
	}
	return out
}

func taskRunOf(t *testing.T, run *Run, task string) *v1.TaskRun {
	t.Helper()
	for _, s := range run.Tasks {
		if s.Name == task {
			if s.TaskRun == nil {
				t.Fatalf("task %s did not run (%s: %s)", task, s.Status, s.Reason)
			}
			return s.TaskRun
		}
	}
	t.Fatalf("no task %s", task)
	return nil
}

func summaryOf(run *Run, task string) TaskSummary {
	for _, s := range run.Tasks {
		if s.Name == task {
			return s
		}
	}
	return TaskSummary{}
}

func TestTaskParamsWorkspacesResults(t *testing.T) {
	r, _ := newRunner(t)
	task := loadTask(t, "task-params.yaml")
	// The file param's default names a workspace path (the task
	// author's text, filled in); given values are not.
	params, err := ParseParams(task.Spec.Params, []string{"who=world", "items=p,q,r"})
	if err != nil {
		t.Fatal(err)
	}
	ws := t.TempDir()
	tr, err := r.RunTask(context.Background(), task, params, map[string]string{"data": ws})
	if err != nil {
		t.Fatal(err)
	}
	got := taskResults(tr)
	want := map[string]string{
		"greeting":   "hello world", // default + given
		"first-item": "p",           // array item
		"obj-b":      "2",           // object default key
		"run-name":   tr.Name,       // $(context.taskRun.name)
		"env-value":  "world",       // step env
		"cwd":        ws,            // workingDir from a workspace
		"ws-file":    "from step one",
		"joined":     "p,q,r", // $(params.items[*]) expands to three args
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("result %s = %q, want %q", k, got[k], v)
		}
	}
	if len(tr.Status.Steps) != 2 || tr.Status.Steps[1].Terminated == nil || tr.Status.Steps[1].Terminated.ExitCode != 0 {
		t.Errorf("step states: %+v", tr.Status.Steps)
	}
	if tr.Status.Steps[0].ImageID != task.Spec.Steps[0].Image {
		t.Errorf("step imageID %q, want the step's image", tr.Status.Steps[0].ImageID)
	}
	if tr.Status.StartTime == nil || tr.Status.CompletionTime == nil {
		t.Error("no start or completion time")
	}
}

// Substitution is one pass, as in Tekton (tektoncd/pipeline#2093): a
// given value that holds variable syntax reaches the step literally, in
// args and env alike.
func TestGivenValueNotSubstitutedAgain(t *testing.T) {
	r, _ := newRunner(t)
	task := loadTask(t, "task-params.yaml")
	hostile := "https://example.test/$(params.greeting)/$(workspaces.data.path)/$(context.taskRun.name)"
	params, err := ParseParams(task.Spec.Params, []string{"who=" + hostile, "items=$(params.who),q"})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := r.RunTask(context.Background(), task, params, map[string]string{"data": t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	got := taskResults(tr)
	for k, want := range map[string]string{
		"greeting":   "hello " + hostile,
		"env-value":  hostile,
		"first-item": "$(params.who)",
		"joined":     "$(params.who),q",
	} {
		if got[k] != want {
			t.Errorf("result %s = %q, want %q", k, got[k], want)
		}
	}
}

func TestTaskMissingParamAndWorkspace(t *testing.T) {
	r, _ := newRunner(t)
	task := loadTask(t, "task-params.yaml")
	_, err := r.RunTask(context.Background(), task, nil, map[string]string{"data": t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "who") {
		t.Errorf("missing param: got %v, want an error naming who", err)
	}
	params, _ := ParseParams(task.Spec.Params, []string{"who=x"})
	_, err = r.RunTask(context.Background(), task, params, nil)
	if err == nil || !strings.Contains(err.Error(), "data") {
		t.Errorf("unbound workspace: got %v, want an error naming data", err)
	}
	if _, err := ParseParams(task.Spec.Params, []string{"nope=1"}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown param: got %v", err)
	}
	if _, err := ParseParams(task.Spec.Params, []string{"obj=a:1,b"}); err == nil {
		t.Error("bad object value accepted")
	}
}

func TestOptionalPipelineWorkspaceForRequiredTaskWorkspaceRefused(t *testing.T) {
	r, _ := newRunner(t)
	p := loadPipeline(t, "pipeline-optional-workspace.yaml")
	_, err := r.RunPipeline(context.Background(), p, nil, map[string]string{"keys": t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), `pipeline workspace "keys"`) || !strings.Contains(err.Error(), "optional") {
		t.Errorf("got %v, want the run refused naming pipeline workspace keys as optional", err)
	}
	// Required in the pipeline, the same binding runs (the task is skipped).
	p.Spec.Workspaces[0].Optional = false
	if _, err := r.RunPipeline(context.Background(), p, nil, map[string]string{"keys": t.TempDir()}); err != nil {
		t.Errorf("with the pipeline workspace required: %v", err)
	}
}

func TestPipelineResultsWhenFinally(t *testing.T) {
	r, _ := newRunner(t)
	p := loadPipeline(t, "pipeline-flow.yaml")
	run, err := r.RunPipeline(context.Background(), p, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := taskResults(taskRunOf(t, run, "b"))["out"]; got != "hi-a-b" {
		t.Errorf("b out = %q, want hi-a-b (result passed from a, propagated param)", got)
	}
	c := summaryOf(run, "c")
	if c.Status != "Skipped" || c.Reason != string(v1.WhenExpressionsSkip) {
		t.Errorf("c: %+v, want skipped by when", c)
	}
	if d := summaryOf(run, "d"); d.Status != "Succeeded" {
		t.Errorf("d (runAfter a when-skipped task) = %s, want Succeeded", d.Status)
	}
	if e := summaryOf(run, "e"); e.Status != "Skipped" || e.Reason != string(v1.MissingResultsSkip) {
		t.Errorf("e (uses c's result) = %+v, want skipped for missing results", e)
	}
	if got := taskResults(taskRunOf(t, run, "report"))["summary"]; got != "Completed None hi-a-b" {
		t.Errorf("finally summary = %q", got)
	}
	pr := run.PipelineRun
	if c := pr.Status.GetCondition(apis.ConditionSucceeded); c == nil || !c.IsTrue() || c.Reason != "Completed" {
		t.Errorf("condition %+v, want True/Completed", c)
	}
	if len(pr.Status.Results) != 1 || pr.Status.Results[0].Name != "final" || pr.Status.Results[0].Value.StringVal != "hi-a-b" {
		t.Errorf("pipeline results %+v, want only final=hi-a-b", pr.Status.Results)
	}
	if len(pr.Status.SkippedTasks) != 2 {
		t.Errorf("skippedTasks %+v", pr.Status.SkippedTasks)
	}
	// With the when expression true, c runs and e gets its result.
	params, _ := ParseParams(p.Spec.Params, []string{"run-c=yes", "message=yo"})
	run, err = r.RunPipeline(context.Background(), p, params, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := taskResults(taskRunOf(t, run, "e"))["out"]; got != "c" {
		t.Errorf("e out = %q, want c", got)
	}
	if got := taskResults(taskRunOf(t, run, "report"))["summary"]; got != "Succeeded Succeeded yo-a-b" {
		t.Errorf("finally summary = %q", got)
	}
}

func TestIndependentTasksRunInParallel(t *testing.T) {
	r, _ := newRunner(t)
	run, err := r.RunPipeline(context.Background(), loadPipeline(t, "pipeline-parallel.yaml"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	span := func(task string) (int64, int64) {
		res := taskResults(taskRunOf(t, run, task))
		s, err1 := strconv.ParseInt(res["start"], 10, 64)
		e, err2 := strconv.ParseInt(res["end"], 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s results %v", task, res)
		}
		return s, e
	}
	s1, e1 := span("p1")
	s2, e2 := span("p2")
	if s1 >= e2 || s2 >= e1 {
		t.Errorf("p1 [%d,%d] and p2 [%d,%d] did not overlap: independent tasks ran one after the other", s1, e1, s2, e2)
	}
}

func TestTaskTimeout(t *testing.T) {
	r, progress := newRunner(t)
	run, err := r.RunPipeline(context.Background(), loadPipeline(t, "pipeline-timeout.yaml"), nil, nil)
	if !errors.Is(err, ErrTaskFailed) {
		t.Fatalf("err = %v, want a task failure", err)
	}
	tr := taskRunOf(t, run, "slow")
	c := tr.Status.GetCondition(apis.ConditionSucceeded)
	if c == nil || c.Reason != v1.TaskRunReasonTimedOut.String() {
		t.Errorf("condition %+v, want TaskRunTimeout", c)
	}
	res := taskResults(tr)
	if res["before"] != "x" || res["after"] != "" {
		t.Errorf("results %v: the step was not stopped at the timeout", res)
	}
	if s := summaryOf(run, "next"); s.Status != "Skipped" || s.Reason != string(v1.StoppingSkip) {
		t.Errorf("next: %+v", s)
	}
	if got := taskResults(taskRunOf(t, run, "always"))["ran"]; got != "yes" {
		t.Errorf("finally did not run after the timeout: %q", got)
	}
	if !strings.Contains(progress.String(), "slow") {
		t.Errorf("no progress line: %s", progress)
	}
}

func TestFailureExitCodeStopsAndRunsFinally(t *testing.T) {
	r, _ := newRunner(t)
	run, err := r.RunPipeline(context.Background(), loadPipeline(t, "pipeline-fail.yaml"), nil, nil)
	var f *TaskFailure
	if !errors.As(err, &f) || f.ExitCode != 1 {
		t.Fatalf("err = %v, want a TaskFailure with exit code 1", err)
	}
	if s := summaryOf(run, "after"); s.Status != "Skipped" {
		t.Errorf("after: %+v, want skipped", s)
	}
	if got := taskResults(taskRunOf(t, run, "cleanup"))["seen"]; got != "Failed" {
		t.Errorf("$(tasks.check.status) = %q, want Failed", got)
	}
	if c := run.PipelineRun.Status.GetCondition(apis.ConditionSucceeded); c == nil || c.IsTrue() || c.Reason != "Failed" {
		t.Errorf("pipeline condition %+v", c)
	}
	log, err := os.ReadFile(filepath.Join(r.WorkDir(), taskRunOf(t, run, "check").Name, "logs", "s.log"))
	if err != nil || !strings.Contains(string(log), "exiting with 1") {
		t.Errorf("step log: %q %v", log, err)
	}
}

func TestForeignImageRefused(t *testing.T) {
	r, progress := newRunner(t)
	_, err := r.RunTask(context.Background(), loadTask(t, "task-foreign-image.yaml"), nil, nil)
	var ie *ImageError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "docker.io/library/busybox") {
		t.Fatalf("err = %v, want an ImageError naming the image", err)
	}
	if progress.Len() != 0 {
		t.Errorf("something ran: %s", progress)
	}
}

func TestMissingStepBinaryRefused(t *testing.T) {
	r, _ := newRunner(t, WithBinDir(t.TempDir()))
	_, err := r.RunTask(context.Background(), loadTask(t, "task-image.yaml"), nil, nil)
	if err == nil || !strings.Contains(err.Error(), "make build") {
		t.Fatalf("err = %v, want a hint to build the step binaries", err)
	}
}

func TestUnsupportedFieldsRefused(t *testing.T) {
	r, progress := newRunner(t)
	_, err := r.RunTask(context.Background(), loadTask(t, "task-unsupported.yaml"), nil, nil)
	var ue *UnsupportedError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v, want UnsupportedError", err)
	}
	for _, f := range []string{"spec.sidecars", "spec.volumes[0].hostPath", "spec.steps[0].script"} {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not name %s", err, f)
		}
	}
	if progress.Len() != 0 {
		t.Errorf("something ran: %s", progress)
	}
}

func TestGitCloneInPipeline(t *testing.T) {
	src := t.TempDir()
	git := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-C", src, "-c", "user.email=t@example.test", "-c", "user.name=t"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q", "-b", "main")
	if err := os.WriteFile(filepath.Join(src, "README"), []byte("sample"), 0o644); err != nil {
		t.Fatal(err)
	}
	git("add", "README")
	git("commit", "-q", "-m", "first")
	r, _ := newRunner(t, WithTaskResolver(&Resolver{TasksDir: "../../tasks"}), WithEnv(os.Environ()))
	p := loadPipeline(t, "pipeline-clone.yaml")
	params, err := ParseParams(p.Spec.Params, []string{"url=" + src})
	if err != nil {
		t.Fatal(err)
	}
	run, err := r.RunPipeline(context.Background(), p, params, map[string]string{"source": t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	read := taskResults(taskRunOf(t, run, "read"))
	fetch := taskResults(taskRunOf(t, run, "fetch"))
	if read["readme"] != "sample" {
		t.Errorf("readme = %q: the clone did not reach the next task through the workspace", read["readme"])
	}
	if len(fetch["commit"]) != 40 || read["commit"] != fetch["commit"] {
		t.Errorf("commit %q passed as %q", fetch["commit"], read["commit"])
	}
	if got := run.PipelineRun.Status.Results; len(got) != 1 || got[0].Value.StringVal != fetch["commit"] {
		t.Errorf("pipeline results %+v", got)
	}
	tr := taskRunOf(t, run, "fetch")
	if tr.Labels["tekton.dev/task"] != "git-clone" || tr.Spec.TaskRef == nil || tr.Spec.TaskRef.Name != "git-clone" {
		t.Errorf("TaskRun does not record its task: labels %v ref %+v", tr.Labels, tr.Spec.TaskRef)
	}
}

func TestRecordedRunsAreValidTekton(t *testing.T) {
	r, _ := newRunner(t)
	run, err := r.RunPipeline(context.Background(), loadPipeline(t, "pipeline-flow.yaml"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files, err := Record(dir, run.PipelineRun, run.TaskRuns)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1+len(run.TaskRuns) {
		t.Fatalf("files %v", files)
	}
	for _, f := range files {
		docs, problems, err := tekton.ReadFile(f)
		if err != nil || len(problems) > 0 {
			t.Fatalf("%s: %v %v", f, err, problems)
		}
		if ps := docs[0].Validate(context.Background()); len(ps) > 0 {
			t.Errorf("%s is not a valid Tekton object: %v", f, ps)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil || !strings.Contains(string(b), `"final": "hi-a-b"`) {
		t.Errorf("results.json: %s %v", b, err)
	}
	var summary bytes.Buffer
	if err := WriteSummary(&summary, run); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"TASK", "report (finally)", "Skipped", "result final = hi-a-b"} {
		if !strings.Contains(summary.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, summary.String())
		}
	}
}

func TestPipelineTimeoutCancelsRunningTasks(t *testing.T) {
	r, _ := newRunner(t, WithTimeout(time.Second))
	run, err := r.RunPipeline(context.Background(), loadPipeline(t, "pipeline-parallel.yaml"), nil, nil)
	if err == nil || !strings.Contains(err.Error(), "failed to finish") {
		t.Fatalf("err = %v, want a pipeline timeout", err)
	}
	if c := run.PipelineRun.Status.GetCondition(apis.ConditionSucceeded); c == nil || c.Reason != v1.PipelineRunReasonTimedOut.String() {
		t.Errorf("condition %+v", c)
	}
}

// A volume mounted where the run's own directories lie (a task's /tmp
// volume, with the work directory under /tmp) is refused with a reason,
// not run with its paths rewritten under it.
func TestMountPathOverWorkDirRefused(t *testing.T) {
	r, _ := newRunner(t)
	task := loadTask(t, "task-volume.yaml")
	mountPath := filepath.Dir(r.WorkDir())
	task.Spec.StepTemplate.VolumeMounts[0].MountPath = mountPath
	for i := range task.Spec.Steps { // loading merged the template in
		for j := range task.Spec.Steps[i].VolumeMounts {
			task.Spec.Steps[i].VolumeMounts[j].MountPath = mountPath
		}
	}
	tr, err := r.RunTask(context.Background(), task, nil, nil)
	msg := fmt.Sprint(err)
	if err == nil && tr != nil {
		if c := tr.Status.GetCondition(apis.ConditionSucceeded); c != nil {
			msg = c.Message
		}
	}
	if !strings.Contains(msg, "mountPath "+strconv.Quote(mountPath)) || !strings.Contains(msg, "work directory") {
		t.Errorf("mount over %s: %q, want it refused naming the mount path and the work directory", mountPath, msg)
	}
}

func TestEmptyDirVolumeSharedBetweenSteps(t *testing.T) {
	r, _ := newRunner(t)
	tr, err := r.RunTask(context.Background(), loadTask(t, "task-volume.yaml"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := taskResults(tr)["shared"]; got != "through the volume" {
		t.Errorf("shared = %q", got)
	}
	if _, err := os.Stat(filepath.Join(r.WorkDir(), tr.Name, "volumes", "cache", "f")); err != nil {
		t.Errorf("the volume is not a directory of the TaskRun: %v", err)
	}
}

// An emptyDir of medium Memory is a tmpfs mounted on the TaskRun's volume
// directory, as the kubelet mounts one: the steps share it, and it is
// unmounted, contents and all (it is RAM), when the TaskRun ends, where an
// ordinary emptyDir keeps its files.
func TestMemoryVolumeIsATmpfs(t *testing.T) {
	probe := t.TempDir()
	if !mountMemory(probe, 1<<20) {
		t.Skip("this process may not mount a tmpfs (not root, or no CAP_SYS_ADMIN)")
	}
	if err := unmountVolumes(probe); err != nil {
		t.Fatal(err)
	}
	r, _ := newRunner(t)
	tr, err := r.RunTask(context.Background(), loadTask(t, "task-memory-volume.yaml"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	res := taskResults(tr)
	if res["shared"] != "in memory" {
		t.Errorf("shared = %q (%v)", res["shared"], tr.Status.Conditions)
	}
	vol := filepath.Join(r.WorkDir(), tr.Name, "volumes", "scratch")
	if res["where"] != vol {
		t.Errorf("the step worked in %q, want the volume %s", res["where"], vol)
	}
	if _, err := os.Stat(filepath.Join(vol, "f")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the volume's file is still there after the TaskRun: it was not a tmpfs (err %v)", err)
	}
	if ms, _ := mountinfo.GetMounts(mountinfo.PrefixFilter(vol)); len(ms) != 0 {
		t.Errorf("%s is still mounted", vol)
	}
}

func TestSecretVolumeFromDirectory(t *testing.T) {
	task := loadTask(t, "task-secret.yaml")
	r, _ := newRunner(t)
	if _, err := r.RunTask(context.Background(), task, nil, nil); err == nil || !strings.Contains(err.Error(), `secret "signing-secrets"`) {
		t.Fatalf("err = %v, want the missing secret named", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cosign.pub"), []byte("PUBLIC"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, _ = newRunner(t, WithSecrets(map[string]string{"signing-secrets": dir}))
	tr, err := r.RunTask(context.Background(), task, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := taskResults(tr)["key"]; got != "PUBLIC" {
		t.Errorf("key = %q", got)
	}
}
