package version

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/internal/interop"
)

// TestGoInstallFromFreshClone does what a Go user does: `git clone` the repository
// (its committed HEAD), then `go install ./cmd/gputrain` with an empty module cache
// (every dependency comes from the module proxy) and no data, and runs the binary it
// put in GOBIN: `gputrain -version` names the pseudo-version of the cloned commit and
// the commit, `gputrain -help` lists the flags. It checks that go.mod has no replace
// directives. It needs git and the module proxy and takes a minute or more, so it runs
// only when GPUTRAIN_TEST_GO_INSTALL=1 (CI sets it).
func TestGoInstallFromFreshClone(t *testing.T) {
	if os.Getenv("GPUTRAIN_TEST_GO_INSTALL") != "1" {
		t.Skip("set GPUTRAIN_TEST_GO_INSTALL=1 to clone the repository and go install it with an empty module cache (needs git and the module proxy)")
	}
	root, err := interop.RepoRoot()
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	tmp := t.TempDir()
	src, bin, modcache := filepath.Join(tmp, "gputrain"), filepath.Join(tmp, "bin"), filepath.Join(tmp, "modcache")
	cmd := func(dir string, env []string, name string, args ...string) string {
		t.Helper()
		c := exec.CommandContext(ctx, name, args...)
		c.Dir, c.Env = dir, append(os.Environ(), env...)
		out, err := c.CombinedOutput()
		require.NoError(t, err, "%s %s: %s", name, strings.Join(args, " "), out)
		return string(out)
	}
	head := strings.TrimSpace(cmd(root, nil, "git", "rev-parse", "HEAD"))
	cmd(tmp, nil, "git", "clone", "--quiet", "file://"+root, src)
	assert.Equal(t, head, strings.TrimSpace(cmd(src, nil, "git", "rev-parse", "HEAD")))
	_, err = os.Stat(filepath.Join(src, "data"))
	assert.True(t, os.IsNotExist(err), "the clone has no data folder: the build must not need one")

	// GOFLAGS=-modcacherw makes the module cache removable by the test's cleanup.
	env := []string{"GOMODCACHE=" + modcache, "GOBIN=" + bin, "GOFLAGS=-modcacherw", "GOPATH=" + filepath.Join(tmp, "gopath")}
	var mod struct{ Replace []any }
	require.NoError(t, json.Unmarshal([]byte(cmd(src, env, "go", "mod", "edit", "-json")), &mod))
	assert.Empty(t, mod.Replace, "go.mod must have no replace directives: `go install` ignores them for users")

	start := time.Now()
	cmd(src, env, "go", "install", "./cmd/gputrain")
	t.Logf("go install ./cmd/gputrain with an empty module cache: %.0f s", time.Since(start).Seconds())
	exe := filepath.Join(bin, "gputrain")
	v := cmd(tmp, nil, exe, "-version")
	t.Logf("gputrain -version:\n%s", v)
	lines := strings.Split(strings.TrimSpace(v), "\n")
	require.Len(t, lines, 4, v)
	version := strings.TrimPrefix(lines[0], "gputrain ")
	assert.True(t, Valid(version), "a stamped version, got %q", version)
	var tags []string // the semantic-version tags at HEAD: Go stamps one of them
	for _, tag := range strings.Fields(cmd(root, nil, "git", "tag", "--points-at", "HEAD")) {
		if Valid(tag) {
			tags = append(tags, tag)
		}
	}
	if len(tags) > 0 {
		assert.Contains(t, tags, version)
	} else {
		assert.Contains(t, version, head[:12], "the pseudo-version names the commit")
	}
	assert.NotContains(t, version, "+dirty", "a fresh clone is clean")
	assert.True(t, strings.HasPrefix(lines[1], "commit   "+head+" ("), lines[1])
	assert.NotContains(t, lines[1], "uncommitted")
	assert.Equal(t, "tags     none", lines[2])

	help := cmd(tmp, nil, exe, "-help")
	for _, f := range []string{"-version", "-tensorboard", "-epochs"} {
		assert.Contains(t, help, f)
	}
}
