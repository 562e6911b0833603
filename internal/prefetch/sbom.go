package prefetch

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/google/uuid"
)

// SBOM properties: OriginProperty marks every component the step fetched,
// so that once merged into an image's SBOM it can be told from what was
// found in the image; TypeProperty names the package manager.
const (
	OriginProperty = "trustline:origin"
	OriginPrefetch = "prefetch"
	TypeProperty   = "trustline:prefetch:type"
	FileProperty   = "trustline:prefetch:file"
)

var cdxAlgo = map[string]cdx.HashAlgorithm{
	"sha1":   cdx.HashAlgoSHA1,
	"sha256": cdx.HashAlgoSHA256,
	"sha384": cdx.HashAlgoSHA384,
	"sha512": cdx.HashAlgoSHA512,
}

// encodeSBOM writes the CycloneDX 1.6 SBOM of the components and returns
// it with its serial number and "sha256:<hex>". Components are sorted by purl, and the
// serial number is derived from them, so the same dependencies give the
// same document but for its timestamp.
func encodeSBOM(comps []*component, now time.Time) (doc []byte, serial, digest string, err error) {
	sorted := append([]*component(nil), comps...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].purl < sorted[j].purl })
	out := make([]cdx.Component, 0, len(sorted))
	seen := map[string]bool{}
	idHash := sha256.New()
	for _, c := range sorted {
		if seen[c.purl] {
			continue
		}
		seen[c.purl] = true
		fmt.Fprintf(idHash, "%s %s\n", c.purl, c.sha256)
		hashes := []cdx.Hash{}
		if c.sha256 != "" {
			hashes = append(hashes, cdx.Hash{Algorithm: cdx.HashAlgoSHA256, Value: c.sha256})
		}
		algos := make([]string, 0, len(c.extraHashes))
		for a := range c.extraHashes {
			algos = append(algos, a)
		}
		sort.Strings(algos)
		for _, a := range algos {
			if a == "sha256" {
				continue
			}
			hashes = append(hashes, cdx.Hash{Algorithm: cdxAlgo[a], Value: c.extraHashes[a]})
		}
		props := []cdx.Property{
			{Name: OriginProperty, Value: OriginPrefetch},
			{Name: TypeProperty, Value: c.kind},
			{Name: FileProperty, Value: c.file},
		}
		if c.kind == TypeGomod {
			// go.sum's h1: hash is the pin the build checks again.
			props = append(props, cdx.Property{Name: "trustline:prefetch:go-sum", Value: c.pin})
		}
		out = append(out, cdx.Component{
			BOMRef:     c.purl,
			Type:       cdx.ComponentTypeLibrary,
			Name:       c.name,
			Version:    c.version,
			PackageURL: c.purl,
			Hashes:     &hashes,
			ExternalReferences: &[]cdx.ExternalReference{{
				Type: cdx.ERTypeDistribution, URL: c.downloadURL,
			}},
			Properties: &props,
		})
	}
	bom := cdx.NewBOM()
	bom.SerialNumber = "urn:uuid:" + uuid.NewHash(sha256.New(), uuid.NameSpaceURL, idHash.Sum(nil), 5).String()
	bom.Metadata = &cdx.Metadata{
		Timestamp: now.UTC().Format(time.RFC3339),
		Tools: &cdx.ToolsChoice{Components: &[]cdx.Component{{
			Type: cdx.ComponentTypeApplication, Name: "trustline prefetch",
		}}},
		Properties: &[]cdx.Property{{Name: OriginProperty, Value: OriginPrefetch}},
	}
	bom.Components = &out
	var buf bytes.Buffer
	enc := cdx.NewBOMEncoder(&buf, cdx.BOMFileFormatJSON)
	enc.SetPretty(true)
	if err := enc.EncodeVersion(bom, cdx.SpecVersion1_6); err != nil {
		return nil, "", "", fmt.Errorf("SBOM: %w", err)
	}
	sum := sha256.Sum256(buf.Bytes())
	return buf.Bytes(), bom.SerialNumber, "sha256:" + hex.EncodeToString(sum[:]), nil
}
