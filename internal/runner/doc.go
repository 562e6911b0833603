// Package runner executes the library's Tekton Tasks and Pipelines on one
// machine with Tekton v1 semantics, and signs what they built as Tekton
// Chains would. It is a developer tool beside Tekton, not a replacement:
// what it does not implement it refuses by name, before anything runs.
//
// # What it implements
//
//   - Resources are validated first with Tekton's own code (internal/tekton:
//     strict decoding, SetDefaults, Validate).
//   - Params: string, array and object, defaults (a default may refer to
//     another param), required params and types checked; $(params.x),
//     $(params.a[i]), $(params.a[*]) (expanding in args and command),
//     $(params.o.key); propagated params into embedded taskSpecs. All
//     variables are substituted in one pass, as Tekton's replacer does
//     (tektoncd/pipeline#2093): a given value is passed literally, never
//     expanded again; a task's own param default may name context,
//     workspace and result variables.
//   - $(context.taskRun.name|namespace|uid), $(context.task.name|retry-count),
//     $(context.pipelineRun.name|namespace|uid), $(context.pipeline.name),
//     $(context.pipelineTask.retries); $(tasks.t.status) and $(tasks.status)
//     in finally tasks.
//   - Workspaces are directories (--workspace name=DIR), with subPath;
//     $(workspaces.w.path|bound|claim|volume); optional workspaces.
//   - Results: /tekton/results is a directory per TaskRun (the step
//     binaries take --results-dir); $(results.r.path); string, array and
//     object results; $(tasks.t.results.r), with items and keys, between
//     tasks; pipeline results.
//   - Ordering by runAfter and by result references; independent tasks run
//     in parallel; when expressions (in, notin; a task skipped by its when
//     does not skip what only runs after it, as when is scoped to the task;
//     a task needing a skipped task's result is skipped); finally tasks
//     after everything, in parallel; retries.
//   - Timeouts: step timeout, pipeline task timeout, TaskRun timeout,
//     PipelineRun timeouts.pipeline/tasks/finally; a step that overruns is
//     killed with its process group.
//   - Steps: command/args, env (value), workingDir (created; /workspace is
//     a directory of the TaskRun), stepTemplate (env, workingDir,
//     volumeMounts), onError continue/stopAndFail, stdoutConfig and
//     stderrConfig paths, /tekton/home per TaskRun (HOME).
//   - Volumes: emptyDir (a directory of the TaskRun; mount paths are
//     rewritten wherever a step names them; medium Memory: a tmpfs of
//     its sizeLimit mounted there when the runner is root, unmounted
//     with its contents when the TaskRun ends) and secret volumes given as
//     directories (WithSecrets, --secret NAME=DIR; an optional secret not
//     given mounts empty).
//   - taskRef: a local task library (tasks/<name>/<version>/<name>.yaml) and
//     resolver: bundles through internal/bundle, recorded in
//     status.provenance.refSource as Tekton's bundles resolver does.
//
// # Images
//
// A step image …/step-<name>@sha256:<digest> runs the binary <bin>/<name>
// (WithBinDir, default bin/); its command must be /usr/local/bin/<name> or
// empty. Any other image is refused with an ImageError naming it.
//
// # Accepted but not enforced
//
// securityContext, computeResources, imagePullPolicy, readOnly workspaces
// and mounts: they constrain a pod on a cluster; here every step runs as
// the invoking user with the machine's resources and environment
// (WithEnv), and the build step needs root as on a cluster.
//
// # Refused
//
// Everything else, with an UnsupportedError naming the field: sidecars,
// script, StepActions (step ref), step results and step when, volumes other
// than emptyDir and secret, env valueFrom/envFrom, matrix, pipelines in
// pipelines, custom tasks, CEL when expressions, resolvers other than
// bundles, and any field not listed above.
//
// # Records and Chains
//
// Each run is a Tekton v1 TaskRun or PipelineRun object with its status
// (params, results, step states with image and exit code, start and
// completion times, conditions, child references, skipped tasks), which
// Record writes as YAML. With WithChains, every TaskRun whose results name
// an image (IMAGE_URL + IMAGE_DIGEST, <X>_IMAGE_URL + <X>_IMAGE_DIGEST,
// IMAGES) gets SLSA provenance from Chains' own formatter
// (internal/provenance), signed as DSSE and appended to the image's .att,
// and a simple-signing .sig, right after the TaskRun ends and before the
// tasks after it start (on a cluster Chains does this asynchronously); a
// PipelineRun whose results name an image gets its provenance once it has
// finished, as Chains' pipelinerun artifacts.
//
// # Reading the code
//
// One file per phase of a run. RunTask (task.go) and RunPipeline
// (pipeline.go) show the whole flow. Before anything runs: check.go
// refuses what is not implemented, resolve.go finds taskRefs, plan.go
// resolves and checks a Pipeline's tasks, workspaces.go checks bindings.
// Running: schedule.go orders a Pipeline's tasks (the DAG, finally,
// timeouts); pipelinetask.go turns a pipeline task into a TaskRun's
// input; taskrun.go makes a TaskRun and retries it; attempt.go runs one
// attempt's steps; step.go runs one step binary. Substitution:
// replacements.go (params and Tekton's variable kinds), substitute.go (a
// TaskRun's steps), results.go (task and pipeline results). Records:
// taskrun.go and pipelinerun.go make the TaskRun and PipelineRun objects
// and their status, record.go writes them, summary.go prints them.
// Chains: chains.go and subjects.go, signing through internal/attest.
//
// The package is silent: progress lines go to the io.Writer given with
// WithProgress, step output to per-step log files.
package runner
