package sbom

import (
	"bytes"
	"fmt"
	"os"

	cdx "github.com/CycloneDX/cyclonedx-go"
)

// Origins of a component in an SBOM that merges prefetched dependencies:
// the property OriginProperty is OriginImage for what the catalogers found
// in the image and OriginPrefetch for what the prefetch step fetched for
// the build (a component found in both carries both).
const (
	OriginProperty = "trustline:origin"
	OriginImage    = "image"
	OriginPrefetch = "prefetch"
)

// WithPrefetched merges the dependencies the prefetch step fetched for the
// build (ReadPrefetchSBOM) into a CycloneDX SBOM, each marked with its
// origin. Default: none, and components carry no origin property.
func WithPrefetched(components []cdx.Component) Option {
	return func(o *options) { o.prefetched = components }
}

// ReadPrefetchSBOM reads the CycloneDX SBOM the prefetch step wrote and
// returns its components. Every component must have a purl.
func ReadPrefetchSBOM(path string) ([]cdx.Component, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("prefetch SBOM: %w", err)
	}
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(b), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		return nil, fmt.Errorf("prefetch SBOM %s: %w", path, err)
	}
	if bom.BOMFormat != cdx.BOMFormat {
		return nil, fmt.Errorf("prefetch SBOM %s: bomFormat %q is not CycloneDX", path, bom.BOMFormat)
	}
	if bom.Components == nil {
		return nil, nil
	}
	for i, c := range *bom.Components {
		if c.PackageURL == "" || c.Name == "" {
			return nil, fmt.Errorf("prefetch SBOM %s: components[%d] has no name or purl", path, i)
		}
	}
	return *bom.Components, nil
}

// mergePrefetched marks the image's components and adds the prefetched
// ones. A prefetched package the image also holds (same purl, as for a Go
// module compiled into a binary) is listed once, with both origins.
func mergePrefetched(comps []cdx.Component, pre []cdx.Component) []cdx.Component {
	if len(pre) == 0 {
		return comps
	}
	byPURL := map[string]int{}
	refs := map[string]bool{}
	for i := range comps {
		addOrigin(&comps[i], OriginImage)
		if comps[i].PackageURL != "" {
			byPURL[comps[i].PackageURL] = i
		}
		refs[comps[i].BOMRef] = true
	}
	for _, p := range pre {
		if i, ok := byPURL[p.PackageURL]; ok {
			addOrigin(&comps[i], OriginPrefetch)
			continue
		}
		c := p
		props := []cdx.Property{}
		if p.Properties != nil {
			props = append(props, *p.Properties...)
		}
		c.Properties = &props
		addOrigin(&c, OriginPrefetch)
		if c.BOMRef == "" || refs[c.BOMRef] {
			c.BOMRef = "prefetch:" + c.PackageURL
		}
		refs[c.BOMRef] = true
		byPURL[c.PackageURL] = len(comps)
		comps = append(comps, c)
	}
	return comps
}

func addOrigin(c *cdx.Component, origin string) {
	if c.Properties == nil {
		c.Properties = &[]cdx.Property{}
	}
	for _, p := range *c.Properties {
		if p.Name == OriginProperty && p.Value == origin {
			return
		}
	}
	*c.Properties = append(*c.Properties, cdx.Property{Name: OriginProperty, Value: origin})
}
