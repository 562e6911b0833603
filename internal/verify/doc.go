// Decisions where Conforma, Konflux and the design notes are silent:
//
//   - Checks made in Go before Rego runs are violations with Conforma's
//     builtin codes: builtin.image.accessible (the registry has no such
//     image), builtin.image.signature_check (no signature verifies with the
//     key; for an index, also each platform image), and
//     builtin.attestation.signature_check / .subject_check / .syntax_check
//     (an attestation signed by another key, about another digest, or not a
//     schema-valid statement). A rejected attestation is left out of
//     input.attestations, so the Rego rules that need it fail too.
//   - A registry that cannot be reached, or answers with anything but "not
//     found", is an error (exit 2), never a violation.
//   - An index gets the whole policy; its platform images must each carry a
//     valid signature.
//   - ruleData is injected at data.rule_data__configuration__, which takes
//     precedence over data.rule_data_custom and data.rule_data (data files),
//     as in Conforma; --rule-data merges into every source's ruleData.
//   - The effective time is what Rego's time.now_ns() returns; with a fixed
//     date it is also data.config.policy.when_ns. "attestation" uses the
//     latest finishedOn / buildFinishedOn of the verified provenance.
//   - The VSA's verifiedLevels: SLSA_BUILD_LEVEL_1 when provenance verified,
//     _2 when the builder_trusted rule also passed, _3 when the trusted_task
//     rules passed as well. Its policy digest hashes the policy spec and
//     every source (artifact digest, or the files of a local path).
//   - Local policy locations are relative to the policy file's directory.
//   - Conforma's ec.* Rego built-ins (package ecbuiltins) are available to
//     every policy. ec.sigstore.verify_image and verify_attestation verify
//     with a public key and no transparency log: they answer success false
//     for keyless options or ignore_rekor false, instead of skipping the
//     check asked for. data.config.default_sigstore_opts holds the run's
//     key with ignore_rekor true, as Conforma fills it from its flags.
//   - input.snapshot is the --images snapshot (application, displayName,
//     artifacts) with every image of the run as a component; for --image
//     alone, application is "" and the component is "Unnamed", as
//     Conforma names it. input.component_name is the image's component;
//     input.policy_spec is the policy applied (after --rule-data and
//     --exclude); input.image.files holds an operator bundle's manifests
//     (the operators.operatorframework.io.bundle.manifests.v1 label's
//     directory), as in Conforma.
//   - The builtin image signature, attestation signature and attestation
//     syntax checks count as successes when they pass (Conforma lists
//     them); an attestation about another image fails the attestation
//     signature check, as cosign's claim verification does.
//   - depends_on: a result is dropped when every rule it depends on was
//     reported as a violation or warning by the same policy source.
//     Conforma repeats a result once per unreported dependency; trustline
//     reports it once.
package verify
