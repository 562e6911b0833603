package sbom

import "github.com/trustline-dev/trustline/internal/sbom/sbomdoc"

// Package is one component an SBOM lists (see sbomdoc.Package).
type Package = sbomdoc.Package

// Document is the common model of a decoded SBOM (see sbomdoc.Document).
type Document = sbomdoc.Document

// Decode reads a CycloneDX or SPDX JSON document (see sbomdoc.Decode).
func Decode(doc []byte) (*Document, error) { return sbomdoc.Decode(doc) }
