package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func TestWriteReplacesWholeFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.bin")
	require.NoError(t, Write(path, func(w io.Writer) error { _, err := w.Write([]byte("old")); return err }))
	require.NoError(t, os.Chmod(path, 0o600))
	require.NoError(t, Write(path, func(w io.Writer) error { _, err := w.Write([]byte("new content")); return err }))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "new content", string(b))
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "a replaced file keeps its mode")
	assert.Equal(t, []string{"f.bin"}, entries(t, dir), "no temporary file is left")
}

func TestFailuresLeaveTheOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.bin")
	require.NoError(t, os.WriteFile(path, []byte("old"), 0o644))
	boom := errors.New("disk on fire")

	err := Write(path, func(w io.Writer) error {
		_, err := w.Write(make([]byte, 3<<20)) // past the buffer: bytes reach the temporary file
		require.NoError(t, err)
		return boom
	})
	require.ErrorIs(t, err, boom)
	b, _ := os.ReadFile(path)
	assert.Equal(t, "old", string(b))
	assert.Equal(t, []string{"f.bin"}, entries(t, dir))

	// The last step fails: while the file is written, a folder with a file in it takes
	// its name, which a rename cannot replace.
	taken := filepath.Join(dir, "taken")
	err = Write(taken, func(w io.Writer) error {
		require.NoError(t, os.MkdirAll(filepath.Join(taken, "sub"), 0o755))
		_, err := w.Write([]byte("new"))
		return err
	})
	require.Error(t, err)
	assert.DirExists(t, filepath.Join(taken, "sub"), "a failed rename changes nothing")
	assert.Equal(t, []string{"f.bin", "taken"}, entries(t, dir), "and leaves no temporary file")

	assert.ErrorContains(t, Write(dir, func(io.Writer) error { return nil }), "is a directory")
	assert.Error(t, Write(filepath.Join(dir, "no", "such", "f"), func(io.Writer) error { return nil }))
}

// A save killed mid-write leaves its temporary file; RemoveStale removes those whose
// process has ended, and those of unknown origin older than StaleAge, and keeps a
// write in progress, here or elsewhere, and other files.
func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "run.safetensors")
	// A child process that has ended: its id names no process now.
	cmd := exec.Command("true")
	require.NoError(t, cmd.Run())
	dead := cmd.Process.Pid
	host := hostTag()
	old := time.Now().Add(-2 * StaleAge)
	files := map[string]bool{ // name → removed
		fmt.Sprintf(".run.safetensors.tmp-%s-%d-123", host, dead):          true,
		fmt.Sprintf(".run.safetensors.tmp-%s-%d-456", host, os.Getpid()):   false, // this process
		fmt.Sprintf(".run.safetensors.tmp-%s-%d-789", host, os.Getppid()):  false, // alive
		".run.safetensors.tmp-0000beef-12-1":                               false, // another host, recent
		".run.safetensors.tmp-0000beef-13-1 old":                           true,  // another host, old
		".run.safetensors.tmp-2831959005":                                  false, // an older gputrain's, recent
		".run.safetensors.tmp-2395125311 old":                              true,
		".other.safetensors.tmp-" + host + "-" + strconv.Itoa(dead) + "-1": false, // another file's
		"run.safetensors": false,
		"notes.tmp-1":     false,
	}
	want := []string{}
	for name, removed := range files {
		name, isOld := strings.CutSuffix(name, " old")
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte("x"), 0o644))
		if isOld {
			require.NoError(t, os.Chtimes(p, old, old))
		}
		if removed {
			want = append(want, p)
		}
	}
	got, err := RemoveStale(path)
	require.NoError(t, err)
	assert.ElementsMatch(t, want, got)
	for _, p := range want {
		assert.NoFileExists(t, p)
	}
	assert.Len(t, entries(t, dir), len(files)-len(want))

	got, err = RemoveStale(filepath.Join(dir, "missing", "f"))
	assert.NoError(t, err, "no folder: nothing to remove")
	assert.Empty(t, got)
}

// Write's temporary files carry this host's tag and this process's id.
func TestTemporaryFileNamesTheWriter(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.bin")
	var seen []string
	require.NoError(t, Write(path, func(w io.Writer) error {
		seen = entries(t, dir)
		return nil
	}))
	require.Len(t, seen, 1)
	assert.True(t, strings.HasPrefix(seen[0], fmt.Sprintf(".f.bin.tmp-%s-%d-", hostTag(), os.Getpid())), seen[0])
}
