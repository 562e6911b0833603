// Command git-clone is the step of the git-clone task: it clones a
// repository at a revision into a workspace and writes the results commit,
// url, short-commit, commit-timestamp and Chains' CHAINS-GIT_URL /
// CHAINS-GIT_COMMIT.
package main

import "github.com/trustline-dev/trustline/internal/stepcli"

func main() { stepcli.Main(newApp()) }
