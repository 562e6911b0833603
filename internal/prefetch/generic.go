package prefetch

import (
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"
)

// GenericDir holds the files of artifacts.lock.yaml, by filename.
const GenericDir = "deps/generic"

// artifactsLock is Hermeto's generic lockfile.
type artifactsLock struct {
	Metadata struct {
		Version string `json:"version"`
	} `json:"metadata"`
	Artifacts []struct {
		DownloadURL string `json:"download_url"`
		Filename    string `json:"filename,omitempty"`
		Checksum    string `json:"checksum"`
	} `json:"artifacts"`
}

var genericAlgos = map[string]int{"sha256": 32, "sha384": 48, "sha512": 64, "sha1": 20}

func planGeneric(srcDir string, p Package, stage string) ([]download, []*component, error) {
	name := filepath.ToSlash(filepath.Join(p.Path, p.Lockfile))
	data, err := os.ReadFile(filepath.Join(srcDir, filepath.FromSlash(name)))
	if err != nil {
		return nil, nil, fmt.Errorf("generic: %w", err)
	}
	var lock artifactsLock
	if err := yaml.UnmarshalStrict(data, &lock); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	if lock.Metadata.Version != "1.0" {
		return nil, nil, fmt.Errorf("%s: metadata.version %q: want \"1.0\"", name, lock.Metadata.Version)
	}
	var downloads []download
	var comps []*component
	var unpinned []string
	files := map[string]bool{}
	for i, a := range lock.Artifacts {
		field := fmt.Sprintf("%s: artifacts[%d]", name, i)
		u, err := url.Parse(a.DownloadURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, nil, fmt.Errorf("%s.download_url %q: want an http(s) URL", field, a.DownloadURL)
		}
		fn := a.Filename
		if fn == "" {
			fn = path.Base(u.Path)
		}
		if fn == "" || fn == "." || fn == "/" || fn == ".." || strings.ContainsAny(fn, "/\\\x00") {
			return nil, nil, fmt.Errorf("%s.filename %q: want a plain file name", field, fn)
		}
		if files[fn] {
			return nil, nil, fmt.Errorf("%s.filename %q: two artifacts have this name", field, fn)
		}
		files[fn] = true
		if a.Checksum == "" {
			unpinned = append(unpinned, a.DownloadURL)
			continue
		}
		algo, hx, ok := strings.Cut(a.Checksum, ":")
		hx = strings.ToLower(hx)
		b, err := hex.DecodeString(hx)
		if !ok || err != nil || genericAlgos[algo] == 0 || len(b) != genericAlgos[algo] {
			return nil, nil, fmt.Errorf("%s.checksum %q: want sha256:<hex> (or sha384, sha512, sha1)", field, a.Checksum)
		}
		c := &component{
			kind: TypeGeneric, name: fn,
			purl:        "pkg:generic/" + purlEscape(fn) + "?checksum=" + url.QueryEscape(algo+":"+hx) + "&download_url=" + url.QueryEscape(a.DownloadURL),
			downloadURL: a.DownloadURL,
			file:        GenericDir + "/" + fn,
			pin:         algo + ":" + hx,
		}
		if algo != "sha256" {
			c.extraHashes = map[string]string{algo: hx}
		}
		comps = append(comps, c)
		what, dl, want := fn, a.DownloadURL, b
		downloads = append(downloads, download{
			what: what, url: dl, dest: filepath.Join(stage, filepath.FromSlash(c.file)),
			cacheKey: algo + "/" + hx,
			verify: func(p string) error {
				got, err := fileDigest(p, algo)
				if err != nil {
					return err
				}
				if string(got) != string(want) {
					return &ChecksumError{What: what, URL: dl, Want: algo + ":" + hx, Got: algo + ":" + hex.EncodeToString(got)}
				}
				return nil
			},
			comp: c,
		})
	}
	if len(unpinned) > 0 {
		return nil, nil, &UnpinnedError{File: name, Packages: unpinned, Why: "not pinned by a checksum"}
	}
	return downloads, comps, nil
}
