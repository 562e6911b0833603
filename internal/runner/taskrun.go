package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/container"
	"github.com/tektoncd/pipeline/pkg/substitution"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

// stepImage matches the library's step images: …/step-<name>@sha256:<hex>.
var stepImage = regexp.MustCompile(`^(?:[^@]+/)?step-([a-z0-9][a-z0-9-]*)@sha256:[0-9a-f]{64}$`)

// ImageError says why a step image cannot run locally.
type ImageError struct {
	Where string
	Step  string
	Image string
	Why   string
}

func (e *ImageError) Error() string {
	return fmt.Sprintf("%s: step %q: image %s: %s", e.Where, e.Step, e.Image, e.Why)
}

// stepBinary maps a step to the binary that runs it, or refuses it.
func (r *Runner) stepBinary(where string, s *v1.Step) (string, error) {
	m := stepImage.FindStringSubmatch(s.Image)
	if m == nil {
		return "", &ImageError{Where: where, Step: s.Name, Image: s.Image,
			Why: "not a trustline step image (…/step-<name>@sha256:<digest>); the local runner runs only the library's step binaries"}
	}
	name := m[1]
	if len(s.Command) > 0 && filepath.Base(s.Command[0]) != name {
		return "", &ImageError{Where: where, Step: s.Name, Image: s.Image,
			Why: fmt.Sprintf("command %q is not the image's binary /usr/local/bin/%s", s.Command[0], name)}
	}
	bin := filepath.Join(r.o.binDir, name)
	st, err := os.Stat(bin)
	if err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		return "", &ImageError{Where: where, Step: s.Name, Image: s.Image,
			Why: fmt.Sprintf("step binary %s not found (run `make build`, or point --bin-dir at the binaries)", bin)}
	}
	return bin, nil
}

// prepare checks a TaskSpec before anything runs: fields the runner does
// not implement and images it cannot run.
func (r *Runner) prepare(where, prefix string, spec *v1.TaskSpec) error {
	if err := checkTaskSpec(where, prefix, spec); err != nil {
		return err
	}
	for i := range spec.Steps {
		if _, err := r.stepBinary(where, &spec.Steps[i]); err != nil {
			return err
		}
	}
	return nil
}

// taskInput is what one TaskRun is made of.
type taskInput struct {
	name         string // TaskRun name
	taskName     string // the Task's name, "" when embedded
	pipelineTask string
	where        string
	spec         *v1.TaskSpec
	ref          *v1.TaskRef
	refSource    *v1.RefSource
	embedded     bool
	params       v1.Params
	workspaces   map[string]string // declared name → host directory
	timeout      time.Duration
	retries      int
	labels       map[string]string
	annotations  map[string]string
}

// TaskOption sets a property of a standalone TaskRun.
type TaskOption func(*taskInput)

// TaskRefSource records where the Task came from (its bundle), as
// Tekton's status.provenance.refSource.
func TaskRefSource(ref *v1.TaskRef, src *v1.RefSource) TaskOption {
	return func(in *taskInput) { in.ref, in.refSource = ref, src }
}

// RunTask runs one Task as a TaskRun and returns it with its status. A
// failed TaskRun is returned with an error wrapping ErrTaskFailed; a Task
// the runner cannot run is refused before anything runs.
func (r *Runner) RunTask(ctx context.Context, task *v1.Task, params v1.Params, workspaces map[string]string, opts ...TaskOption) (*v1.TaskRun, error) {
	where := "Task " + task.Name
	if err := r.prepare(where, "spec", &task.Spec); err != nil {
		return nil, err
	}
	in := &taskInput{
		name:       task.Name + "-run-" + randomSuffix(),
		taskName:   task.Name,
		where:      where,
		spec:       &task.Spec,
		ref:        &v1.TaskRef{Name: task.Name, Kind: v1.NamespacedTaskKind},
		params:     params,
		workspaces: workspaces,
		timeout:    r.o.timeout,
		labels:     map[string]string{"tekton.dev/task": task.Name},
	}
	for _, o := range opts {
		o(in)
	}
	if err := checkWorkspaces(where, task.Spec.Workspaces, workspaces); err != nil {
		return nil, err
	}
	if _, _, err := paramReplacements(where, task.Spec.Params, params); err != nil {
		return nil, err
	}
	r.progressf("%-24s started", task.Name)
	tr := r.execute(ctx, in)
	r.progressf("%s", r.endLine(task.Name, tr))
	if err := r.afterTaskRun(ctx, tr); err != nil {
		return tr, err
	}
	if !succeeded(tr) {
		return tr, taskFailure(tr)
	}
	return tr, nil
}

func checkWorkspaces(where string, decls []v1.WorkspaceDeclaration, dirs map[string]string) error {
	known := map[string]bool{}
	var missing []string
	for _, d := range decls {
		known[d.Name] = true
		if _, ok := dirs[d.Name]; !ok && !d.Optional {
			missing = append(missing, d.Name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s: workspace(s) not bound: %s (bind with --workspace name=DIR)", where, strings.Join(missing, ", "))
	}
	for n := range dirs {
		if !known[n] {
			return fmt.Errorf("%s: --workspace %s: the task declares no such workspace", where, n)
		}
	}
	return nil
}

// TaskFailure is the error for a TaskRun that did not succeed.
type TaskFailure struct {
	TaskRun string
	Reason  string
	Message string
	// ExitCode is the first failing step's exit code (-1 when none ran).
	ExitCode int
}

func (e *TaskFailure) Error() string {
	return fmt.Sprintf("TaskRun %s %s: %s", e.TaskRun, e.Reason, e.Message)
}

func (e *TaskFailure) Unwrap() error { return ErrTaskFailed }

func taskFailure(tr *v1.TaskRun) error {
	c := tr.Status.GetCondition(apis.ConditionSucceeded)
	f := &TaskFailure{TaskRun: tr.Name, ExitCode: -1}
	if c != nil {
		f.Reason, f.Message = c.Reason, c.Message
	}
	for _, s := range tr.Status.Steps {
		if s.Terminated != nil && s.Terminated.ExitCode != 0 {
			f.ExitCode = int(s.Terminated.ExitCode)
			break
		}
	}
	return f
}

func succeeded(tr *v1.TaskRun) bool {
	c := tr.Status.GetCondition(apis.ConditionSucceeded)
	return c != nil && c.IsTrue()
}

// execute runs a TaskRun to its end (with retries) and returns it with
// its status. It never returns nil.
func (r *Runner) execute(ctx context.Context, in *taskInput) *v1.TaskRun {
	tr := &v1.TaskRun{
		TypeMeta: metav1.TypeMeta{APIVersion: "tekton.dev/v1", Kind: "TaskRun"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        in.name,
			Namespace:   r.o.namespace,
			UID:         typesUID(randomUID()),
			Labels:      map[string]string{"app.kubernetes.io/managed-by": "trustline-run"},
			Annotations: map[string]string{},
		},
		Spec: v1.TaskRunSpec{
			Params:             in.params,
			ServiceAccountName: r.o.serviceAcct,
		},
	}
	for k, v := range in.labels {
		tr.Labels[k] = v
	}
	for k, v := range in.annotations {
		tr.Annotations[k] = v
	}
	if in.timeout > 0 {
		tr.Spec.Timeout = &metav1.Duration{Duration: in.timeout}
	}
	if in.embedded || in.ref == nil {
		tr.Spec.TaskSpec = in.spec.DeepCopy()
	} else {
		tr.Spec.TaskRef = in.ref.DeepCopy()
	}
	names := make([]string, 0, len(in.workspaces))
	for n := range in.workspaces {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		// A host directory has no Kubernetes volume type; emptyDir is the
		// closest, and the annotation says which directory it was.
		tr.Spec.Workspaces = append(tr.Spec.Workspaces, v1.WorkspaceBinding{Name: n, EmptyDir: &corev1.EmptyDirVolumeSource{}})
		tr.Annotations["trustline.dev/workspace."+n] = in.workspaces[n]
	}
	tr.Annotations[annotationWorkDir] = filepath.Join(r.o.workDir, in.name)
	tr.Status.TaskSpec = in.spec.DeepCopy()
	if in.refSource != nil {
		tr.Status.Provenance = &v1.Provenance{RefSource: in.refSource.DeepCopy()}
	}
	start := r.now()
	tr.Status.StartTime = &start
	tr.Status.PodName = in.name + "-pod"

	for attempt := 0; ; attempt++ {
		status := r.attempt(ctx, in, tr, attempt)
		tr.Status.Steps, tr.Status.Results = status.Steps, status.Results
		tr.Status.Status = status.Status
		if succeeded(tr) || attempt >= in.retries || ctx.Err() != nil {
			break
		}
		prev := tr.Status.DeepCopy()
		prev.RetriesStatus = nil
		prev.TaskSpec = nil
		tr.Status.RetriesStatus = append(tr.Status.RetriesStatus, *prev)
		r.progressf("%-24s retrying (%d of %d)", labelOr(in), attempt+1, in.retries)
	}
	end := r.now()
	tr.Status.CompletionTime = &end
	return tr
}

func labelOr(in *taskInput) string {
	if in.pipelineTask != "" {
		return in.pipelineTask
	}
	return in.taskName
}

func (r *Runner) now() metav1.Time { return metav1.NewTime(r.o.now().UTC()) }

// attempt runs the steps once into fresh directories.
func (r *Runner) attempt(ctx context.Context, in *taskInput, tr *v1.TaskRun, attempt int) v1.TaskRunStatus {
	var st v1.TaskRunStatus
	fail := func(reason v1.TaskRunReason, format string, args ...any) v1.TaskRunStatus {
		st.Status = duckv1.Status{Conditions: duckv1.Conditions{{
			Type: apis.ConditionSucceeded, Status: corev1.ConditionFalse,
			Reason: reason.String(), Message: fmt.Sprintf(format, args...),
			LastTransitionTime: apis.VolatileTime{Inner: r.now()},
		}}}
		return st
	}
	base := filepath.Join(r.o.workDir, in.name)
	if attempt > 0 {
		base = filepath.Join(base, "retry-"+strconv.Itoa(attempt))
	}
	dirs := taskDirs{
		results: filepath.Join(base, "results"),
		home:    filepath.Join(base, "home"),
		logs:    filepath.Join(base, "logs"),
		steps:   filepath.Join(base, "steps"),
		work:    filepath.Join(base, "workspace"),
		volumes: filepath.Join(base, "volumes"),
	}
	for _, d := range []string{dirs.results, dirs.home, dirs.logs, dirs.steps, dirs.work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fail(v1.TaskRunReasonFailed, "%v", err)
		}
	}
	steps, err := r.substitute(in, tr, attempt, dirs)
	if err != nil {
		return fail(v1.TaskRunReasonFailed, "%v", err)
	}
	runCtx := ctx
	if in.timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, in.timeout)
		defer cancel()
	}
	failed := ""
	timedOut := false
	for i := range steps {
		s := &steps[i]
		state := v1.StepState{Name: s.Name, Container: "step-" + s.Name, ImageID: s.Image}
		if failed != "" || timedOut {
			state.Terminated = &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Skipped", Message: "a previous step failed"}
			state.TerminationReason = "Skipped"
			st.Steps = append(st.Steps, state)
			continue
		}
		started := r.now()
		code, reason, err := r.runStep(runCtx, in, s, dirs)
		finished := r.now()
		if err != nil {
			return fail(v1.TaskRunReasonFailed, "step %q: %v", s.Name, err)
		}
		state.Terminated = &corev1.ContainerStateTerminated{ExitCode: int32(code), Reason: reason, StartedAt: started, FinishedAt: finished}
		state.TerminationReason = reason
		_ = os.WriteFile(filepath.Join(dirs.steps, "step-"+s.Name, "exitCode"), []byte(strconv.Itoa(code)), 0o644)
		st.Steps = append(st.Steps, state)
		switch {
		case reason == "TimeoutExceeded" && runCtx.Err() != nil:
			timedOut = true
		case code != 0 && s.OnError != v1.Continue:
			failed = fmt.Sprintf("%q exited with code %d", "step-"+s.Name, code)
		}
	}
	results, resErr := readResults(in.spec.Results, dirs.results)
	st.Results = results
	switch {
	case timedOut && ctx.Err() == nil:
		return fail(v1.TaskRunReasonTimedOut, "TaskRun %q failed to finish within %q", in.name, in.timeout.String())
	case timedOut || ctx.Err() != nil:
		return fail(v1.TaskRunReasonCancelled, "TaskRun %q was cancelled: %v", in.name, context.Cause(ctx))
	case failed != "":
		return fail(v1.TaskRunReasonFailed, "%s (log: %s)", failed, dirs.logs)
	case resErr != nil:
		return fail(v1.TaskRunReasonFailed, "%v", resErr)
	}
	st.Status = duckv1.Status{Conditions: duckv1.Conditions{{
		Type: apis.ConditionSucceeded, Status: corev1.ConditionTrue,
		Reason: v1.TaskRunReasonSuccessful.String(), Message: "All Steps have completed executing",
		LastTransitionTime: apis.VolatileTime{Inner: r.now()},
	}}}
	return st
}

type taskDirs struct{ results, home, logs, steps, work, volumes string }

// substitute applies Tekton's variable substitution to the steps and maps
// the pod's paths (/tekton/results, /tekton/home, /workspace) to this
// TaskRun's directories.
func (r *Runner) substitute(in *taskInput, tr *v1.TaskRun, attempt int, dirs taskDirs) ([]v1.Step, error) {
	spec := in.spec
	// Every variable is substituted in one pass, as Tekton's replacer does
	// (tektoncd/pipeline#2093): text that came from a value (a --param, a
	// result) is never substituted again, so a value holding
	// "$(workspaces.x.path)" or "$(params.y)" reaches the step literally.
	// A param default is the task author's text: it may name context,
	// workspace and result variables, which are filled in first.
	repl := newReplacements()
	taskName := in.taskName
	if taskName == "" {
		taskName = in.pipelineTask
	}
	for k, v := range map[string]string{
		"context.taskRun.name":      tr.Name,
		"context.task.name":         taskName,
		"context.taskRun.namespace": tr.Namespace,
		"context.taskRun.uid":       string(tr.UID),
		"context.task.retry-count":  strconv.Itoa(attempt),
	} {
		repl.str[k] = v
	}
	for _, w := range spec.Workspaces {
		dir, bound := in.workspaces[w.Name]
		if !bound && !w.Optional {
			return nil, fmt.Errorf("%s: workspace %q is not bound", in.where, w.Name)
		}
		repl.str["workspaces."+w.Name+".path"] = dir
		repl.str["workspaces."+w.Name+".bound"] = strconv.FormatBool(bound)
		repl.str["workspaces."+w.Name+".claim"] = ""
		repl.str["workspaces."+w.Name+".volume"] = w.Name
	}
	for _, res := range spec.Results {
		p := filepath.Join(dirs.results, res.Name)
		repl.str["results."+res.Name+".path"] = p
		repl.str[fmt.Sprintf("results[%q].path", res.Name)] = p
		repl.str[fmt.Sprintf("results['%s'].path", res.Name)] = p
	}
	repl.str["credentials.path"] = dirs.home
	for _, s := range spec.Steps {
		d := filepath.Join(dirs.steps, "step-"+s.Name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
		repl.str["steps.step-"+s.Name+".exitCode.path"] = filepath.Join(d, "exitCode")
		repl.str["steps."+s.Name+".exitCode.path"] = filepath.Join(d, "exitCode")
	}
	params, _, err := paramReplacementsDefaults(in.where, spec.Params, in.params, repl.str)
	if err != nil {
		return nil, err
	}
	// Object params are whole-object substitutable only in pipelines;
	// their keys were added as strings above.
	all := newReplacements()
	all.merge(repl)
	all.merge(params)
	volumes := map[string]string{}
	for _, v := range spec.Volumes {
		switch {
		case v.EmptyDir != nil:
			volumes[v.Name] = filepath.Join(dirs.volumes, v.Name)
		case v.Secret != nil:
			secret := substitution.ApplyReplacements(v.Secret.SecretName, params.str)
			if dir, ok := r.o.secrets[secret]; ok {
				volumes[v.Name] = dir
				continue
			}
			if v.Secret.Optional == nil || !*v.Secret.Optional {
				return nil, fmt.Errorf("%s: volume %q: secret %q not given (give it with --secret %s=DIR)", in.where, v.Name, secret, secret)
			}
			// An optional secret that does not exist mounts empty.
			volumes[v.Name] = filepath.Join(dirs.volumes, v.Name)
		default:
			return nil, fmt.Errorf("%s: volume %q: only emptyDir and secret volumes are supported locally", in.where, v.Name)
		}
		if err := os.MkdirAll(volumes[v.Name], 0o755); err != nil {
			return nil, err
		}
	}
	var out []v1.Step
	for _, orig := range spec.Steps {
		s := *orig.DeepCopy()
		if spec.StepTemplate != nil {
			mergeTemplate(&s, spec.StepTemplate)
		}
		// A mount path becomes the volume's directory wherever the step
		// names it; the longest mount path wins.
		pairs := []string{"/tekton/results", dirs.results, "/tekton/home", dirs.home, "/tekton/creds", dirs.home}
		mounts := append([]corev1.VolumeMount(nil), s.VolumeMounts...)
		sort.Slice(mounts, func(i, j int) bool { return len(mounts[i].MountPath) > len(mounts[j].MountPath) })
		for _, m := range mounts {
			dir, ok := volumes[m.Name]
			if !ok {
				return nil, fmt.Errorf("%s: step %q: volumeMounts %q: no such volume", in.where, s.Name, m.Name)
			}
			pairs = append([]string{strings.TrimSuffix(m.MountPath, "/"), dir}, pairs...)
		}
		paths := strings.NewReplacer(pairs...)
		container.ApplyStepReplacements(&s, all.str, all.arr)
		for i := range s.Command {
			s.Command[i] = paths.Replace(s.Command[i])
		}
		for i := range s.Args {
			s.Args[i] = paths.Replace(s.Args[i])
		}
		for i := range s.Env {
			s.Env[i].Value = paths.Replace(s.Env[i].Value)
		}
		switch {
		case s.WorkingDir == "" || s.WorkingDir == "/workspace":
			s.WorkingDir = dirs.work
		case strings.HasPrefix(s.WorkingDir, "/workspace/"):
			s.WorkingDir = filepath.Join(dirs.work, strings.TrimPrefix(s.WorkingDir, "/workspace/"))
		default:
			s.WorkingDir = paths.Replace(s.WorkingDir)
		}
		for _, cfg := range []*v1.StepOutputConfig{s.StdoutConfig, s.StderrConfig} {
			if cfg != nil {
				cfg.Path = paths.Replace(cfg.Path)
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// mergeTemplate applies a stepTemplate as Tekton does: the step's own
// values win, env is merged by name.
func mergeTemplate(s *v1.Step, t *v1.StepTemplate) {
	if s.WorkingDir == "" {
		s.WorkingDir = t.WorkingDir
	}
	have := map[string]bool{}
	for _, e := range s.Env {
		have[e.Name] = true
	}
	var env []corev1.EnvVar
	for _, e := range t.Env {
		if !have[e.Name] {
			env = append(env, e)
		}
	}
	s.Env = append(env, s.Env...)
	mounted := map[string]bool{}
	for _, m := range s.VolumeMounts {
		mounted[m.Name] = true
	}
	for _, m := range t.VolumeMounts {
		if !mounted[m.Name] {
			s.VolumeMounts = append(s.VolumeMounts, m)
		}
	}
}

// runStep runs one step binary and returns its exit code and Tekton's
// termination reason. An error means the step could not start.
func (r *Runner) runStep(ctx context.Context, in *taskInput, s *v1.Step, dirs taskDirs) (int, string, error) {
	bin, err := r.stepBinary(in.where, s)
	if err != nil {
		return -1, "", err
	}
	if s.Timeout != nil && s.Timeout.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.Timeout.Duration)
		defer cancel()
	}
	if err := os.MkdirAll(s.WorkingDir, 0o755); err != nil {
		return -1, "", fmt.Errorf("workingDir: %w", err)
	}
	var args []string
	if len(s.Command) > 1 {
		args = append(args, s.Command[1:]...)
	}
	args = append(args, s.Args...)
	logPath := filepath.Join(dirs.logs, s.Name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return -1, "", err
	}
	defer logf.Close()
	var stdout, stderr io.Writer = logf, logf
	if r.o.stepOutput != nil {
		pw := &prefixWriter{r: r, prefix: fmt.Sprintf("[%s/%s] ", labelOr(in), s.Name)}
		stdout, stderr = io.MultiWriter(logf, pw), io.MultiWriter(logf, pw)
	}
	var closers []io.Closer
	for i, cfg := range []*v1.StepOutputConfig{s.StdoutConfig, s.StderrConfig} {
		if cfg == nil || cfg.Path == "" {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o755); err != nil {
			return -1, "", err
		}
		f, err := os.Create(cfg.Path)
		if err != nil {
			return -1, "", err
		}
		closers = append(closers, f)
		if i == 0 {
			stdout = io.MultiWriter(stdout, f)
		} else {
			stderr = io.MultiWriter(stderr, f)
		}
	}
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = s.WorkingDir
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.Env = append(append([]string{}, r.o.env...), "HOME="+dirs.home)
	for _, e := range s.Env {
		cmd.Env = append(cmd.Env, e.Name+"="+e.Value)
	}
	// The step and anything it starts are one process group, killed
	// together on timeout.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Run()
	if ctx.Err() != nil {
		fmt.Fprintf(logf, "\ntrustline run: step %s stopped: %v\n", s.Name, ctx.Err())
		return 137, "TimeoutExceeded", nil
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return 0, "Completed", nil
	case errors.As(err, &exitErr):
		return exitErr.ExitCode(), "Error", nil
	default:
		return -1, "", err
	}
}

type prefixWriter struct {
	r      *Runner
	prefix string
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.r.logs.Lock()
	defer p.r.logs.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := strings.IndexByte(string(p.buf), '\n')
		if i < 0 {
			break
		}
		fmt.Fprintf(p.r.o.stepOutput, "%s%s\n", p.prefix, p.buf[:i])
		p.buf = p.buf[i+1:]
	}
	return len(b), nil
}

// readResults reads the declared results the steps wrote. A result not
// written is left out, as Tekton does; one that does not parse as its
// declared type is an error.
func readResults(decls []v1.TaskResult, dir string) ([]v1.TaskRunResult, error) {
	var out []v1.TaskRunResult
	var errs []error
	for _, d := range decls {
		b, err := os.ReadFile(filepath.Join(dir, d.Name))
		if err != nil {
			continue
		}
		v, err := resultValue(d.Type, string(b))
		if err != nil {
			errs = append(errs, fmt.Errorf("result %s: %w", d.Name, err))
			continue
		}
		typ := d.Type
		if typ == "" {
			typ = v1.ResultsTypeString
		}
		out = append(out, v1.TaskRunResult{Name: d.Name, Type: typ, Value: v})
	}
	return out, errors.Join(errs...)
}
