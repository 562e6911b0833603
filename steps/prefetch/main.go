// Command prefetch is the step of the prefetch-dependencies task: it
// downloads the dependencies a source declares in its lockfiles, checks
// each against its pinned checksum, and lays them out for a build with no
// network (see internal/prefetch).
package main

import (
	"github.com/trustline-dev/trustline/internal/stepcli"
)

func main() { stepcli.Main(newApp()) }
