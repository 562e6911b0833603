package build

import (
	"errors"

	nettypes "go.podman.io/common/libnetwork/types"
)

// errNoNetworkBackend is what buildah gets if it ever asks the step to set
// up a container network: with chroot isolation it must not.
var errNoNetworkBackend = errors.New("the build step configures no container networks: RUN instructions share the step's network (or, with --hermetic, its empty network namespace)")

// stepNetwork is the network "backend" the step hands to buildah. Left to
// itself, buildah looks for netavark (or CNI plugins) on the host and its
// configuration under /etc/containers, even for a FROM scratch build whose
// chroot-isolated RUNs never use them: buildah always runs them in the
// step's own network namespace. Giving it this value skips that lookup, so
// the step needs no helper binary; every method that would configure a
// network fails, which would show at once if buildah ever called one.
type stepNetwork struct{}

var _ nettypes.ContainerNetwork = stepNetwork{}

func (stepNetwork) NetworkCreate(nettypes.Network, *nettypes.NetworkCreateOptions) (nettypes.Network, error) {
	return nettypes.Network{}, errNoNetworkBackend
}
func (stepNetwork) NetworkUpdate(string, nettypes.NetworkUpdateOptions) error {
	return errNoNetworkBackend
}
func (stepNetwork) NetworkRemove(string) error { return errNoNetworkBackend }
func (stepNetwork) NetworkList(...nettypes.FilterFunc) ([]nettypes.Network, error) {
	return nil, nil
}
func (stepNetwork) NetworkInspect(string) (nettypes.Network, error) {
	return nettypes.Network{}, errNoNetworkBackend
}
func (stepNetwork) Setup(string, nettypes.SetupOptions) (map[string]nettypes.StatusBlock, error) {
	return nil, errNoNetworkBackend
}
func (stepNetwork) Teardown(string, nettypes.TeardownOptions) error { return errNoNetworkBackend }
func (stepNetwork) RunInRootlessNetns(func() error) error           { return errNoNetworkBackend }
func (stepNetwork) RootlessNetnsInfo() (*nettypes.RootlessNetnsInfo, error) {
	return nil, errNoNetworkBackend
}
func (stepNetwork) Drivers() []string          { return nil }
func (stepNetwork) DefaultNetworkName() string { return "" }
func (stepNetwork) NetworkInfo() nettypes.NetworkInfo {
	return nettypes.NetworkInfo{Backend: "none"}
}
