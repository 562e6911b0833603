package build

import (
	"embed"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"go.podman.io/common/pkg/config"
	"go.podman.io/image/v5/types"
	storagetypes "go.podman.io/storage/types"
)

// The containers configuration the step carries in its binary. The
// buildah library otherwise reads containers.conf, storage.conf,
// registries.conf (and .d), registries.d, policy.json, certs.d, mounts.conf
// and hook directories from /etc/containers and /usr/share/containers: on
// a node those belong to someone else (or do not exist in a step image),
// and they must not change what a build does.
//
//go:embed containers/containers.conf containers/registries.conf containers/storage.conf containers/policy.json
var embeddedConfig embed.FS

// containersConfig is where one build's copy of that configuration was
// written: a directory under the build's temporary directory.
type containersConfig struct {
	Dir string `json:"dir"`
}

// The files and directories under containersConfig.Dir.
const (
	confContainers = "containers.conf"
	confStorage    = "storage.conf"
	confRegistries = "registries.conf"
	confPolicy     = "policy.json"
	// Empty directories and files that stand in for the host's.
	confRegistriesDropIns = "registries.conf.d"
	confRegistriesD       = "registries.d"
	confCertsD            = "certs.d"
	confHooksD            = "hooks.d"
	confMounts            = "mounts.conf"
	confShortNames        = "short-name-aliases.conf"
	// confTmp is TMPDIR for buildah: the context overlay, RUN bundles,
	// heredocs and big-file copies go here, so that one directory holds
	// everything a build leaves on disk outside storage.
	confTmp = "tmp"
)

// writeContainersConfig writes the configuration into dir/containers.
func writeContainersConfig(dir string) (containersConfig, error) {
	c := containersConfig{Dir: filepath.Join(dir, "containers")}
	for _, d := range []string{"", confRegistriesDropIns, confRegistriesD, confCertsD, confHooksD, confTmp} {
		if err := os.MkdirAll(filepath.Join(c.Dir, d), 0o700); err != nil {
			return c, fmt.Errorf("containers configuration: %w", err)
		}
	}
	for _, name := range []string{confContainers, confStorage, confRegistries, confPolicy} {
		b, err := embeddedConfig.ReadFile("containers/" + name)
		if err != nil {
			return c, fmt.Errorf("containers configuration: %w", err)
		}
		if err := os.WriteFile(filepath.Join(c.Dir, name), b, 0o600); err != nil {
			return c, fmt.Errorf("containers configuration: %w", err)
		}
	}
	// An empty mounts.conf: no host subscriptions (secrets, FIPS files)
	// are mounted into RUN instructions.
	if err := os.WriteFile(filepath.Join(c.Dir, confMounts), nil, 0o600); err != nil {
		return c, fmt.Errorf("containers configuration: %w", err)
	}
	return c, nil
}

func (c containersConfig) path(name string) string { return filepath.Join(c.Dir, name) }

// systemContext points containers/image at the step's own files instead
// of the host's. Credentials are still looked up as containers/image does
// ($DOCKER_CONFIG/config.json, as Tekton mounts them); certificates come
// from the system pool (SSL_CERT_FILE), not from /etc/containers/certs.d.
func (c containersConfig) systemContext(sc *types.SystemContext) *types.SystemContext {
	sc.SystemRegistriesConfPath = c.path(confRegistries)
	sc.SystemRegistriesConfDirPath = c.path(confRegistriesDropIns)
	sc.RegistriesDirPath = c.path(confRegistriesD)
	sc.SignaturePolicyPath = c.path(confPolicy)
	sc.DockerPerHostCertDirPath = c.path(confCertsD)
	sc.UserShortNameAliasConfPath = c.path(confShortNames)
	sc.BigFilesTemporaryDir = c.path(confTmp)
	return sc
}

// Environment variables through which containers/common and
// containers/storage name their configuration files; the libraries offer
// no other way to do it.
var configEnv = map[string]string{
	"CONTAINERS_CONF":                     confContainers,
	"CONTAINERS_STORAGE_CONF":             confStorage,
	"CONTAINERS_REGISTRIES_CONF":          confRegistries,
	"CONTAINERS_POLICY_JSON":              confPolicy,
	"TMPDIR":                              confTmp,
	"CONTAINERS_CONF_OVERRIDE":            "",
	"CONTAINERS_STORAGE_CONF_OVERRIDE":    "",
	"CONTAINERS_REGISTRIES_CONF_OVERRIDE": "",
}

// environ is base with the configuration variables set to this build's
// files (and the override variables removed): the environment of the
// process that runs the build.
func (c containersConfig) environ(base []string) []string {
	out := make([]string, 0, len(base)+len(configEnv))
	for _, kv := range base {
		k := kv
		for i := 0; i < len(kv); i++ {
			if kv[i] == '=' {
				k = kv[:i]
				break
			}
		}
		if _, ours := configEnv[k]; !ours {
			out = append(out, kv)
		}
	}
	for k, name := range configEnv {
		if name != "" {
			out = append(out, k+"="+c.path(name))
		}
	}
	return out
}

// processConfigMu serialises useInProcess: it changes the environment for a
// moment.
var processConfigMu sync.Mutex

// useInProcess makes this process's containers/common and
// containers/storage defaults come from the step's files: the pulls and
// the storage the step opens itself read them. Both libraries cache what
// they read the first time, from files named by the environment, so the
// variables are set only while they are read and then put back (the
// process's environment is not the library's to keep). storage.conf is
// read once per process; the step passes every storage setting it uses
// explicitly, so a copy read earlier by the program changes nothing.
func (c containersConfig) useInProcess() error {
	processConfigMu.Lock()
	defer processConfigMu.Unlock()
	saved := map[string]*string{}
	for k, name := range configEnv {
		if k == "TMPDIR" {
			continue // read on every use, not cached; set for the build process only
		}
		if v, ok := os.LookupEnv(k); ok {
			saved[k] = &v
		} else {
			saved[k] = nil
		}
		if name == "" {
			os.Unsetenv(k)
		} else {
			os.Setenv(k, c.path(name))
		}
	}
	defer func() {
		for k, v := range saved {
			if v == nil {
				os.Unsetenv(k)
			} else {
				os.Setenv(k, *v)
			}
		}
	}()
	if _, err := config.Reload(); err != nil {
		return fmt.Errorf("containers configuration %s: %w", c.path(confContainers), err)
	}
	if _, err := storagetypes.DefaultStoreOptions(); err != nil {
		return fmt.Errorf("storage configuration %s: %w", c.path(confStorage), err)
	}
	return nil
}
