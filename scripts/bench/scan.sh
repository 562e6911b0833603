#!/usr/bin/env bash
# Benchmark of the scan step against osv-scanner v2.6.0, both offline, on
# the same CycloneDX SBOM and the same OSV databases (../shared/osv).
#
# The SBOM (1,000+ real packages) is generated here: every module of
# trustline's own go.mod (real Go modules at real versions, plus the
# standard library spelled "go1.26.8" as syft writes it), crates at
# versions named by the crates.io advisories, and AlmaLinux 9 RPMs at
# versions named by the AlmaLinux advisories (real errata builds).
#
# Usage: scripts/bench/scan.sh [RUNS]   (default 5 timed runs each)
#   OSV_SCANNER=path: use this osv-scanner binary instead of building it
# Needs: go (and network to the Go proxy the first time: osv-scanner is
# built with GOTOOLCHAIN=go1.27.3, which it requires).
set -euo pipefail

RUNS=${1:-5}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/scripts/bench/lib.sh"
SHARED=$(cd "$ROOT/.." && pwd)/shared
[ -d "$SHARED/osv" ] || { echo "bench: $SHARED/osv not found" >&2; exit 2; }
WORK=${BENCH_DIR:-$(mktemp -d /tmp/trustline-bench-scan.XXXXXX)}
mkdir -p "$WORK/bin"
export GOFLAGS=-tags=containers_image_openpgp,exclude_graphdriver_btrfs,exclude_graphdriver_devicemapper CGO_ENABLED=1

echo "bench: work dir $WORK" >&2

# Tools.
(cd "$ROOT" && go build -o "$WORK/bin/scan" ./steps/scan)
if [ -n "${OSV_SCANNER:-}" ]; then
  cp "$OSV_SCANNER" "$WORK/bin/osv-scanner"
elif [ ! -x "$WORK/bin/osv-scanner" ]; then
  echo "bench: building osv-scanner v2.6.0 (Go 1.27.3)" >&2
  GOTOOLCHAIN=go1.27.3 GOFLAGS= GOBIN="$WORK/bin" go install github.com/google/osv-scanner/v2/cmd/osv-scanner@v2.6.0
fi

# osv-scanner's offline layout: <dir>/osv-scalibr/<Ecosystem>/all.zip.
mkdir -p "$WORK/osvdb/osv-scalibr"
for e in "$SHARED"/osv/*/; do
  e=$(basename "$e")
  mkdir -p "$WORK/osvdb/osv-scalibr/$e"
  ln -sf "$SHARED/osv/$e/all.zip" "$WORK/osvdb/osv-scalibr/$e/all.zip"
done

# The SBOM.
mkdir -p "$WORK/gen"
cat > "$WORK/gen/main.go" <<'EOF'
package main

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
)

type comp struct {
	BOMRef  string `json:"bom-ref"`
	Type    string `json:"type"`
	Name    string `json:"name"`
	Version string `json:"version"`
	PURL    string `json:"purl"`
}

type record struct {
	ID       string `json:"id"`
	Affected []struct {
		Package struct{ Ecosystem, Name string } `json:"package"`
		Ranges  []struct {
			Events []map[string]string `json:"events"`
		} `json:"ranges"`
	} `json:"affected"`
}

func records(path string) []record {
	zr, err := zip.OpenReader(path)
	if err != nil {
		panic(err)
	}
	defer zr.Close()
	var out []record
	for _, f := range zr.File {
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		var r record
		if json.Unmarshal(b, &r) == nil {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func main() {
	root, shared, goVersion, withRPMs, goOnly := os.Args[1], os.Args[2], os.Args[3], os.Args[4] == "rpm", os.Args[4] == "go"
	var comps []comp
	add := func(name, version, purl string) {
		comps = append(comps, comp{BOMRef: fmt.Sprintf("c%d", len(comps)), Type: "library", Name: name, Version: version, PURL: purl})
	}
	// Go: trustline's own module graph.
	cmd := exec.Command("go", "list", "-m", "-f", "{{if not .Main}}{{.Path}} {{.Version}}{{end}}", "all")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		panic(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(l)
		if len(f) == 2 {
			add(f[0], f[1], "pkg:golang/"+f[0]+"@"+f[1])
		}
	}
	add("stdlib", goVersion, "pkg:golang/stdlib@"+strings.TrimPrefix(goVersion, "go"))
	// crates.io and AlmaLinux 9: the first version an advisory names per
	// package (an introduced version if any, else a fixed one).
	pick := func(eco string, r record, limit int, seen map[string]bool, emit func(name, version string)) {
		for _, a := range r.Affected {
			if a.Package.Ecosystem != eco || seen[a.Package.Name] || len(seen) >= limit {
				continue
			}
			v := ""
			for _, rg := range a.Ranges {
				for _, e := range rg.Events {
					if x := e["introduced"]; x != "" && x != "0" && v == "" {
						v = x
					}
				}
				for _, e := range rg.Events {
					if x := e["fixed"]; x != "" && v == "" {
						v = x
					}
				}
			}
			if v != "" {
				seen[a.Package.Name] = true
				emit(a.Package.Name, v)
			}
		}
	}
	seen := map[string]bool{}
	for _, r := range records(shared + "/osv/crates.io/all.zip") {
		if goOnly {
			break
		}
		pick("crates.io", r, 300, seen, func(n, v string) { add(n, v, "pkg:cargo/"+n+"@"+v) })
	}
	seen = map[string]bool{}
	for _, r := range records(shared + "/osv/AlmaLinux/all.zip") {
		if !withRPMs {
			break
		}
		pick("AlmaLinux:9", r, 500, seen, func(n, v string) {
			epoch, ver := "", v
			if i := strings.Index(v, ":"); i > 0 {
				epoch, ver = v[:i], v[i+1:]
			}
			purl := "pkg:rpm/almalinux/" + n + "@" + ver + "?arch=x86_64"
			if epoch != "" {
				purl += "&epoch=" + epoch
			}
			add(n, v, purl+"&distro=almalinux-9.4")
		})
	}
	bom := map[string]any{
		"$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json", "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
		"metadata":   map[string]any{"component": map[string]any{"bom-ref": "image", "type": "container", "name": "bench"}},
		"components": append(comps, comp{BOMRef: "os", Type: "operating-system", Name: "almalinux", Version: "9.4"}),
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	enc.Encode(bom)
	fmt.Fprintf(os.Stderr, "bench: SBOM with %d packages\n", len(comps))
}
EOF
(cd "$WORK/gen" && [ -f go.mod ] || (cd "$WORK/gen" && GOFLAGS= go mod init benchgen >/dev/null 2>&1))
(cd "$WORK/gen" && GOFLAGS= go build -o gen .)
"$WORK/gen/gen" "$ROOT" "$SHARED" "$(go env GOVERSION)" rpm > "$WORK/all.cdx.json" 2>"$WORK/gen.log"
"$WORK/gen/gen" "$ROOT" "$SHARED" "$(go env GOVERSION)" norpm > "$WORK/lang.cdx.json" 2>>"$WORK/gen.log"
"$WORK/gen/gen" "$ROOT" "$SHARED" "$(go env GOVERSION)" go > "$WORK/go.cdx.json" 2>>"$WORK/gen.log"

# One timed run: "wall user sys maxrss_kib" appended to $WORK/NAME.times.
timed() { # name, command...
  local name=$1; shift
  /usr/bin/time -f '%e %U %S %M' -o "$WORK/time.out" "$@" >/dev/null 2>"$WORK/$name.log" || [ $? -eq 1 ] ||
    { cat "$WORK/$name.log" >&2; exit 1; }
  tail -1 "$WORK/time.out" >>"$WORK/$name.times"
}
med() { # NAME FIELD: the median of a field of NAME's runs (1 wall s, 4 peak RSS KiB)
  cut -d' ' -f"$2" "$WORK/$1.times" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'
}
# summary NAME: median wall, mean CPU, median peak RSS of NAME's runs.
summary() {
  local cpu
  cpu=$(awk '{c+=$2+$3} END {printf "%.3f", c/NR}' "$WORK/$1.times")
  echo "wall_median=$(med "$1" 1)s cpu_mean=${cpu}s rss_median=$(( $(med "$1" 4) / 1024 ))MiB runs=$(wc -l <"$WORK/$1.times")"
}

# Findings compared: (advisory id, package, version) pairs.
compare() { # ours.json theirs.json
  cat > "$WORK/gen/cmp.go" <<'EOF'
//go:build ignore

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

func main() {
	var ours struct {
		Vulnerabilities []struct {
			ID      string   `json:"id"`
			Aliases []string `json:"aliases"`
			Package struct{ Name, Version, Ecosystem string } `json:"package"`
		} `json:"vulnerabilities"`
	}
	b, _ := os.ReadFile(os.Args[1])
	if err := json.Unmarshal(b, &ours); err != nil {
		panic(err)
	}
	var theirs struct {
		Results []struct {
			Packages []struct {
				Package struct{ Name, Version, Ecosystem string } `json:"package"`
				Vulnerabilities []struct {
					ID      string   `json:"id"`
					Aliases []string `json:"aliases"`
				} `json:"vulnerabilities"`
			} `json:"packages"`
		} `json:"results"`
	}
	b, _ = os.ReadFile(os.Args[2])
	if err := json.Unmarshal(b, &theirs); err != nil {
		panic(err)
	}
	// Keyed by package name and advisory id; an alias of ours counts as
	// the same advisory.
	ourKeys := map[string]bool{}
	for _, v := range ours.Vulnerabilities {
		for _, id := range append([]string{v.ID}, v.Aliases...) {
			ourKeys[v.Package.Name+" "+id] = true
		}
	}
	theirKeys := map[string]string{}
	byEco := map[string]int{}
	for _, r := range theirs.Results {
		for _, p := range r.Packages {
			for _, v := range p.Vulnerabilities {
				theirKeys[p.Package.Name+" "+v.ID] = p.Package.Ecosystem + " " + p.Package.Version
				byEco[p.Package.Ecosystem]++
			}
		}
	}
	// osv-scanner reads the standard library's "go1.26.8" (syft's
	// spelling) as a version below every fix, so it reports every stdlib
	// advisory ever published; those are counted apart.
	var missing []string
	stdlibMisread := 0
	for k, where := range theirKeys {
		if ourKeys[k] {
			continue
		}
		if strings.HasPrefix(k, "stdlib ") && strings.HasPrefix(where, "Go go") {
			stdlibMisread++
			continue
		}
		missing = append(missing, k+" ("+where+")")
	}
	sort.Strings(missing)
	ecos := map[string]int{}
	for _, v := range ours.Vulnerabilities {
		ecos[v.Package.Ecosystem]++
	}
	fmt.Printf("findings: trustline %d (by ecosystem %v), osv-scanner %d (by ecosystem %v)\n", len(ours.Vulnerabilities), ecos, len(theirKeys), byEco)
	ourOnly := 0
	for _, v := range ours.Vulnerabilities {
		found := false
		for _, id := range append([]string{v.ID}, v.Aliases...) {
			if _, ok := theirKeys[v.Package.Name+" "+id]; ok {
				found = true
			}
		}
		if !found {
			ourOnly++
		}
	}
	fmt.Printf("osv-scanner stdlib findings from reading \"go1.x.y\" as a version below every fix: %d\n", stdlibMisread)
	fmt.Printf("trustline findings osv-scanner lacks: %d\n", ourOnly)
	fmt.Printf("osv-scanner findings trustline misses (other than those): %d\n", len(missing))
	for i, m := range missing {
		if i == 20 {
			fmt.Printf("  ... %d more\n", len(missing)-20)
			break
		}
		fmt.Println("  " + m)
	}
}
EOF
  (cd "$WORK/gen" && GOFLAGS= go run cmp.go "$1" "$2")
}

echo "machine: $(machine)"

# Three SBOMs: "all" (Go modules, crates and AlmaLinux 9 RPMs), "lang"
# (the same without the RPMs, which osv-scanner 2.6.0 drops from SBOMs as
# "local/unscannable"), so that one run has both tools doing the same
# work, and "go" (the Go modules alone: one ecosystem, as a Go image's
# SBOM). Runs interleaved per round: trustline cold (no name index
# cached: the first scan after the database changes, or a scan with no
# cache to keep), trustline warm (the name index written by the cold
# run), osv-scanner.
for s in all lang go; do
  SBOM="$WORK/$s.cdx.json"
  NPKG=$(grep -c '"bom-ref": "c' "$SBOM")
  SCAN=("$WORK/bin/scan" --sbom "$SBOM" --db "$SHARED/osv" --db-cache "$WORK/cache" --format json --output "$WORK/trustline-$s.json" --results-dir "")
  OSVS=("$WORK/bin/osv-scanner" scan --offline --local-db-path "$WORK/osvdb" --format json --output "$WORK/osv-scanner-$s.json" -L "$SBOM")
  echo
  echo "== sbom $s: $NPKG packages (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  rm -f "$WORK"/{cold,warm,osv}-"$s".times
  "${OSVS[@]}" >/dev/null 2>&1 || true # warm the page cache for both
  for r in $(seq "$RUNS"); do
    rm -rf "$WORK/cache"
    timed "cold-$s" "${SCAN[@]}"
    timed "warm-$s" "${SCAN[@]}"
    timed "osv-$s" "${OSVS[@]}"
  done
  echo "trustline cold (no name index)  $(summary "cold-$s")"
  echo "trustline warm (name index)     $(summary "warm-$s")"
  echo "osv-scanner v2.6.0              $(summary "osv-$s")"
  ratio "scan, $s SBOM ($NPKG packages), cold: wall" "trustline scan" "osv-scanner v2.6.0" "$(med "osv-$s" 1)" "$(med "cold-$s" 1)" s
  ratio "scan, $s SBOM ($NPKG packages), cold: peak RSS" "trustline scan" "osv-scanner v2.6.0" "$(( $(med "osv-$s" 4) / 1024 ))" "$(( $(med "cold-$s" 4) / 1024 ))" MiB
  ratio "scan, $s SBOM ($NPKG packages), warm: wall" "trustline scan" "osv-scanner v2.6.0" "$(med "osv-$s" 1)" "$(med "warm-$s" 1)" s
  compare "$WORK/trustline-$s.json" "$WORK/osv-scanner-$s.json"
done
echo
echo "commands (per SBOM; cold: the cache directory removed first):"
echo "  $WORK/bin/scan --sbom SBOM --db $SHARED/osv --db-cache $WORK/cache --format json --output OUT --results-dir ''"
echo "  $WORK/bin/osv-scanner scan --offline --local-db-path $WORK/osvdb --format json --output OUT -L SBOM"
