package remoteopt

import (
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// MaxConfigSize bounds an image's config blob. go-containerregistry
// bounds manifests (100 MiB) but reads a config of whatever size its
// manifest declares; a real config is kilobytes (a few hundred for an
// image with a long history), so a manifest declaring more is hostile.
const MaxConfigSize = 8 << 20

// RawConfigFile returns img's config blob after checking the size its
// manifest declares against MaxConfigSize, so that a hostile manifest
// cannot make a step read gigabytes into memory. The bytes are checked
// against the declared digest and size as they stream
// (go-containerregistry's verifying reader).
func RawConfigFile(img v1.Image) ([]byte, error) {
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	if m.Config.Size > MaxConfigSize || m.Config.Size < 0 {
		return nil, fmt.Errorf("config %s is %d bytes, more than the %d allowed", m.Config.Digest, m.Config.Size, MaxConfigSize)
	}
	return img.RawConfigFile()
}

// ConfigFile is RawConfigFile, parsed.
func ConfigFile(img v1.Image) (*v1.ConfigFile, error) {
	if _, err := RawConfigFile(img); err != nil {
		return nil, err
	}
	return img.ConfigFile()
}
