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
package verify
