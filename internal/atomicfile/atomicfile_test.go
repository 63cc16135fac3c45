package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

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

	rename = func(string, string) error { return boom }
	err = Write(path, func(w io.Writer) error { _, err := w.Write([]byte("new")); return err })
	rename = os.Rename
	require.ErrorIs(t, err, boom)
	b, _ = os.ReadFile(path)
	assert.Equal(t, "old", string(b), "a failed rename changes nothing")
	assert.Equal(t, []string{"f.bin"}, entries(t, dir))

	assert.ErrorContains(t, Write(dir, func(io.Writer) error { return nil }), "is a directory")
	assert.Error(t, Write(filepath.Join(dir, "no", "such", "f"), func(io.Writer) error { return nil }))
}
