// Command gitserver serves the bare Git repositories under a directory over
// Git's smart HTTP protocol, through git's own http-backend (CGI), on an
// address the cluster's pods reach. scripts/cluster/pipeline.sh starts it
// so that the git-clone task clones the sample application over HTTP, as
// it would clone from a forge.
//
// Usage: gitserver --addr 10.231.0.1:8418 --root DIR
package main

import (
	"flag"
	"log"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

func main() {
	addr := flag.String("addr", "", "host:port to listen on")
	root := flag.String("root", "", "directory holding the bare repositories (NAME.git)")
	flag.Parse()
	if *addr == "" || *root == "" {
		log.Fatal("gitserver: --addr and --root are required")
	}
	if fi, err := os.Stat(*root); err != nil || !fi.IsDir() {
		log.Fatalf("gitserver: --root %s is not a directory", *root)
	}
	execPath, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		log.Fatalf("gitserver: git --exec-path: %v (is git installed?)", err)
	}
	backend := filepath.Join(strings.TrimSpace(string(execPath)), "git-http-backend")
	handler := &cgi.Handler{
		Path: backend,
		Root: "/",
		Env: []string{
			"GIT_PROJECT_ROOT=" + *root,
			"GIT_HTTP_EXPORT_ALL=1",
			"GIT_CONFIG_NOSYSTEM=1",
			"HOME=" + *root,
		},
		Stderr: os.Stderr,
	}
	log.Printf("gitserver: serving %s on http://%s/ with %s", *root, *addr, backend)
	log.Fatal(http.ListenAndServe(*addr, handler))
}
