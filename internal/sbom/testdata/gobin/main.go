// Command gobin is built by the sbom tests and put into a test image, so
// that syft's Go binary cataloger has real build information to read.
package main

import (
	"fmt"

	"golang.org/x/sync/errgroup"
)

func main() {
	var g errgroup.Group
	g.Go(func() error { return nil })
	fmt.Println(g.Wait())
}
