package data

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorgonia.org/tensor"
)

func TestDatasetSetIsImagesWithOneChannel(t *testing.T) {
	d := &Dataset{Name: "mnist", Train: tenSplit(), Test: tenSplit().Head(4), Classes: 10}
	s, err := d.Set()
	require.NoError(t, err)
	assert.Equal(t, []int{10, 1, 2, 3}, []int(s.Train.X.Shape()))
	assert.Equal(t, []int{1, 2, 3}, s.Train.Shape())
	assert.Equal(t, tensor.Uint8, s.Train.X.Dtype())
	assert.Equal(t, []int32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, s.Train.Y.Data())
	assert.Equal(t, 4, s.Test.Len())
	assert.False(t, s.Mirror, "digits are not mirrored")
	d.Name = "fashion-mnist"
	s, err = d.Set()
	require.NoError(t, err)
	assert.True(t, s.Mirror, "clothes may be mirrored")

	d.Train.N = 11 // inconsistent
	_, err = d.Set()
	assert.ErrorContains(t, err, "data: split:")
}

func TestExamplesHeadAndReshape(t *testing.T) {
	d := &Dataset{Name: "mnist", Train: tenSplit(), Test: tenSplit(), Classes: 10}
	s, err := d.Set()
	require.NoError(t, err)
	h, err := s.Train.Head(3)
	require.NoError(t, err)
	assert.Equal(t, 3, h.Len())
	assert.Equal(t, []int{3, 1, 2, 3}, []int(h.X.Shape()))
	assert.Equal(t, seq(18), h.X.Data())
	assert.Equal(t, []int32{0, 1, 2}, h.Y.Data())
	all, err := s.Train.Head(99)
	require.NoError(t, err)
	assert.Equal(t, 10, all.Len())
	_, err = s.Train.Head(0)
	assert.ErrorContains(t, err, "cannot take 0 examples")

	flat, err := h.Reshape(6)
	require.NoError(t, err)
	assert.Equal(t, []int{3, 6}, []int(flat.X.Shape()))
	assert.Equal(t, seq(18), flat.X.Data(), "the same bytes")
	_, err = h.Reshape(1, 28, 28)
	assert.ErrorContains(t, err, "cannot view examples of shape [1 2 3], 6 values, as [1 28 28], 784 values")
	_, err = h.Reshape(-6)
	assert.ErrorContains(t, err, "dimensions must be positive")
}

func TestParseCSVName(t *testing.T) {
	for _, c := range []struct {
		name, path, label, test string
	}{
		{"csv:iris.csv", "iris.csv", "", ""},
		{"csv:iris.csv:label=species", "iris.csv", "species", ""},
		{"csv:train.csv:test=test.csv:label=-1", "train.csv", "-1", "test.csv"},
		{"csv:c:/data/x.csv:label=1", "c:/data/x.csv", "1", ""},
		{"csv:odd:name.csv", "odd:name.csv", "", ""},
	} {
		p, l, tst, err := parseCSVName(c.name)
		require.NoError(t, err, c.name)
		assert.Equal(t, []string{c.path, c.label, c.test}, []string{p, l, tst}, c.name)
	}
	for name, want := range map[string]string{
		"csv:":                       "no file name",
		"csv::label=1":               "no file name",
		"csv:x.csv:label=":           "option label= has no value",
		"csv:x.csv:label=1:label=2":  "option label= given twice",
		"csv:x.csv:test=a:test=b":    "option test= given twice",
		"csv:x.csv:label=1:test=":    "option test= has no value",
		"csv:x.csv:label=y:test=a.c": "",
	} {
		_, _, _, err := parseCSVName(name)
		if want == "" {
			assert.NoError(t, err, name)
			continue
		}
		assert.ErrorContains(t, err, want, name)
	}
}

// classCSV writes a CSV file sorted by class, as files often are: n rows, the first half
// of class 0 and the rest of class 1; feature a is the row number.
func classCSV(t *testing.T, dir, name string, n int) string {
	t.Helper()
	text := "a,b,class\n"
	for i := range n {
		text += strconv.Itoa(i) + ",0.5," + strconv.Itoa(2*i/n) + "\n"
	}
	return writeFile(t, dir, name, text)
}

func TestLoadCSVHoldsOutAShuffledTenth(t *testing.T) {
	dir := t.TempDir()
	p := classCSV(t, dir, "sorted.csv", 50)
	s, err := Load("csv:"+p, LoadOptions{Seed: 7})
	require.NoError(t, err)
	assert.Equal(t, "csv:"+p, s.Name)
	assert.Equal(t, 2, s.Classes)
	assert.Equal(t, 45, s.Train.Len())
	assert.Equal(t, 5, s.Test.Len())
	assert.Equal(t, []int{2}, s.Train.Shape())
	assert.Equal(t, tensor.Float32, s.Train.X.Dtype())
	assert.False(t, s.Mirror)
	assert.Contains(t, s.About, "50 rows of 2 features, label column class; 5 held out")

	// Every row is in exactly one part, and the test part is not just the last rows.
	seen := map[float32]int{}
	for _, e := range []Examples{s.Train, s.Test} {
		x := e.X.Data().([]float32)
		y := e.Y.Data().([]int32)
		for i := range e.Len() {
			a := x[2*i]
			seen[a]++
			assert.Equal(t, int32(2*int(a)/50), y[i], "row %v keeps its label", a)
		}
	}
	assert.Len(t, seen, 50)
	testLabels := s.Test.Y.Data().([]int32)
	assert.Contains(t, testLabels, int32(0), "a sorted file's test rows are drawn from all of it")

	again, err := Load("csv:"+p, LoadOptions{Seed: 7})
	require.NoError(t, err)
	assert.Equal(t, s.Test.X.Data(), again.Test.X.Data(), "the same seed, the same split")
	other, err := Load("csv:"+p, LoadOptions{Seed: 8})
	require.NoError(t, err)
	assert.NotEqual(t, s.Test.X.Data(), other.Test.X.Data())
}

func TestLoadCSVWithTestFile(t *testing.T) {
	dir := t.TempDir()
	tr := classCSV(t, dir, "train.csv", 20)
	te := writeFile(t, dir, "test.csv", "class,a,b\n2,1,1\n0,3,3\n")
	s, err := Load("csv:"+tr+":test="+te+":label=class", LoadOptions{})
	require.NoError(t, err)
	assert.Equal(t, 20, s.Train.Len())
	assert.Equal(t, 2, s.Test.Len())
	assert.Equal(t, 3, s.Classes, "the largest label of either file")
	assert.Equal(t, []float32{1, 1, 3, 3}, s.Test.X.Data(), "the test file is read in order")
	assert.Equal(t, []int32{2, 0}, s.Test.Y.Data())

	bad := writeFile(t, dir, "narrow.csv", "1,0\n")
	_, err = Load("csv:"+tr+":test="+bad, LoadOptions{})
	assert.ErrorContains(t, err, "narrow.csv has 1 features but "+tr+" has 2")
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	one := writeFile(t, dir, "one.csv", "1,2,1\n")
	zeros := writeFile(t, dir, "zeros.csv", "1,2,0\n3,4,0\n")
	for name, want := range map[string]string{
		"imagenet":             `data: unknown data set "imagenet" (want mnist, fashion-mnist or csv:FILE)`,
		"csv:" + one:           "1 row, too few to hold out a test set",
		"csv:" + zeros:         "every label is 0; a classifier needs at least 2 classes",
		"csv:" + dir + "/none": "none",
	} {
		_, err := Load(name, LoadOptions{})
		assert.ErrorContains(t, err, want, name)
	}
	_, err := Load("mnist", LoadOptions{Dir: dir})
	assert.ErrorContains(t, err, "data: mnist: in directory "+dir)
	_, err = Load("fashion-mnist", LoadOptions{Dir: dir})
	assert.ErrorContains(t, err, "data: fashion-mnist: in directory "+dir)
}

func TestLoadMNISTSet(t *testing.T) {
	if _, err := os.Stat(filepath.Join(realMNISTDir, "train-images-idx3-ubyte.gz")); err != nil {
		t.Skip("MNIST not found in data/mnist: run `make data`")
	}
	s, err := Load("mnist", LoadOptions{Dir: realMNISTDir})
	require.NoError(t, err)
	assert.Equal(t, []int{60000, 1, 28, 28}, []int(s.Train.X.Shape()))
	assert.Equal(t, []int{10000}, []int(s.Test.Y.Shape()))
	assert.Equal(t, 10, s.Classes)
	assert.Contains(t, s.About, "28×28 images, 10 classes from "+realMNISTDir)
}
