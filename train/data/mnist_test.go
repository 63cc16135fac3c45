package data

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tinyFile is one IDX file of a synthetic MNIST directory.
type tinyFile struct {
	base string   // e.g. trainImagesFile
	dims []uint32 // sizes written in the header
	data []byte
	gz   bool // write base+".gz", gzipped
}

// tinyMNIST describes a synthetic MNIST-shaped data set: 5 train and 3 test images of
// 4×3 pixels, pixel values counting up from 1, labels chosen by hand.
func tinyMNIST() []tinyFile {
	return []tinyFile{
		{trainImagesFile, []uint32{5, 4, 3}, seq(5 * 4 * 3), true},
		{trainLabelsFile, []uint32{5}, []byte{3, 1, 4, 1, 5}, false},
		{testImagesFile, []uint32{3, 4, 3}, seq(3 * 4 * 3), false},
		{testLabelsFile, []uint32{3}, []byte{9, 2, 6}, true},
	}
}

// writeMNIST writes files into a fresh directory and returns it.
func writeMNIST(t *testing.T, files []tinyFile) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		b, name := idxFile(8, f.dims, f.data), f.base
		if f.gz {
			b, name = gzipped(t, b), name+".gz"
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o644))
	}
	return dir
}

func TestLoadMNISTTiny(t *testing.T) {
	dir := writeMNIST(t, tinyMNIST())
	ds, err := LoadMNIST(dir)
	require.NoError(t, err)
	assert.Equal(t, "mnist", ds.Name)
	assert.Equal(t, 10, ds.Classes)
	assert.Equal(t, Split{Images: seq(60), Labels: []uint8{3, 1, 4, 1, 5}, N: 5, H: 4, W: 3}, ds.Train)
	assert.Equal(t, Split{Images: seq(36), Labels: []uint8{9, 2, 6}, N: 3, H: 4, W: 3}, ds.Test)
	require.NoError(t, ds.Train.Validate())
	require.NoError(t, ds.Test.Validate())

	fashion, err := LoadFashionMNIST(dir)
	require.NoError(t, err)
	assert.Equal(t, "fashion-mnist", fashion.Name)
	assert.Equal(t, ds.Train, fashion.Train)
}

func TestLoadMNISTPrefersRawFile(t *testing.T) {
	// Both train-labels-idx1-ubyte and train-labels-idx1-ubyte.gz exist; the raw one is
	// read, so the corrupt .gz does not matter.
	dir := writeMNIST(t, tinyMNIST())
	raw := idxFile(8, []uint32{5}, []byte{0, 0, 7, 7, 7})
	require.NoError(t, os.WriteFile(filepath.Join(dir, trainLabelsFile), raw, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, trainLabelsFile+".gz"), []byte{0x1f, 0x8b, 1}, 0o644))
	ds, err := LoadMNIST(dir)
	require.NoError(t, err)
	assert.Equal(t, []uint8{0, 0, 7, 7, 7}, ds.Train.Labels)
}

func TestLoadMNISTErrors(t *testing.T) {
	// with returns the tiny data set with file i replaced by f.
	with := func(i int, f tinyFile) []tinyFile {
		files := tinyMNIST()
		files[i] = f
		return files
	}
	cases := []struct {
		name  string
		files []tinyFile
		want  []string
	}{
		{"images 2-D", with(0, tinyFile{trainImagesFile, []uint32{5, 12}, seq(60), false}),
			[]string{"data: mnist: train: file ", trainImagesFile + ": images must be 3-D (N, H, W), got dims [5 12]"}},
		{"labels 2-D", with(3, tinyFile{testLabelsFile, []uint32{3, 1}, []byte{1, 2, 3}, true}),
			[]string{"data: mnist: test: file ", testLabelsFile + ".gz: labels must be 1-D (N), got dims [3 1]"}},
		{"count mismatch", with(1, tinyFile{trainLabelsFile, []uint32{4}, []byte{1, 2, 3, 4}, false}),
			[]string{"data: mnist: train: 5 images but 4 labels (files ", trainImagesFile + ".gz, "}},
		{"no images", with(2, tinyFile{testImagesFile, []uint32{0, 4, 3}, nil, false}),
			[]string{"data: mnist: test: file ", testImagesFile + ": no images (dims [0 4 3])"}},
		{"size mismatch", with(2, tinyFile{testImagesFile, []uint32{3, 3, 4}, seq(36), false}),
			[]string{"data: mnist: train images are 4×3 but test images are 3×4"}},
		{"bad train label", with(1, tinyFile{trainLabelsFile, []uint32{5}, []byte{3, 1, 10, 1, 255}, true}),
			[]string{"data: mnist: train: file ", trainLabelsFile + ".gz: label 2 is 10, want 0..9"}},
		{"bad test label", with(3, tinyFile{testLabelsFile, []uint32{3}, []byte{9, 9, 200}, false}),
			[]string{"data: mnist: test: file ", testLabelsFile + ": label 2 is 200, want 0..9"}},
		{"bad idx", with(0, tinyFile{trainImagesFile, []uint32{5, 4, 3}, seq(59), true}),
			[]string{"data: mnist: data: file ", trainImagesFile + ".gz: data truncated: got 59 of 60 bytes"}},
	}
	for _, c := range cases {
		dir := writeMNIST(t, c.files)
		_, err := LoadMNIST(dir)
		require.Error(t, err, c.name)
		for _, w := range c.want {
			assert.Contains(t, err.Error(), w, c.name)
		}
	}
}

func TestLoadMNISTMissingFiles(t *testing.T) {
	files := tinyMNIST()
	dir := writeMNIST(t, []tinyFile{files[0], files[3]})
	_, err := LoadMNIST(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "data: mnist: in directory "+dir+": missing train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz] (")
	assert.Contains(t, err.Error(), "make data")
	assert.NotContains(t, err.Error(), trainImagesFile)

	_, err = LoadFashionMNIST(filepath.Join(dir, "nowhere"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "data: fashion-mnist: in directory "+filepath.Join(dir, "nowhere")+": missing train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]")
	assert.Contains(t, err.Error(), "apt install dataset-fashion-mnist")
}
