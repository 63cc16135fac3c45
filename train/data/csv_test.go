package data

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorgonia.org/tensor"
)

func readCSV(t *testing.T, text string, o CSVOptions) (*Table, error) {
	t.Helper()
	return ReadCSV(strings.NewReader(text), "t.csv", o)
}

func TestReadCSVWithHeader(t *testing.T) {
	tab, err := readCSV(t, "\ufeffsepal, petal ,\"width\",species\n5.1,3.5,1.4,0\n 4.9 ,3.0, 1.4e0,2.0\n\n6.2,-3.4,5.4,1\n", CSVOptions{})
	require.NoError(t, err)
	assert.Equal(t, 3, tab.N)
	assert.Equal(t, 3, tab.F)
	assert.Equal(t, []float32{5.1, 3.5, 1.4, 4.9, 3.0, 1.4, 6.2, -3.4, 5.4}, tab.Features)
	assert.Equal(t, []int32{0, 2, 1}, tab.Labels)
	assert.Equal(t, []string{"sepal", "petal", "width"}, tab.Columns)
	assert.Equal(t, "species", tab.Label)
	assert.Equal(t, 3, tab.Classes())
}

func TestReadCSVWithoutHeader(t *testing.T) {
	tab, err := readCSV(t, "1,2,3\n4,5,6\n", CSVOptions{})
	require.NoError(t, err)
	assert.Equal(t, []float32{1, 2, 4, 5}, tab.Features)
	assert.Equal(t, []int32{3, 6}, tab.Labels)
	assert.Equal(t, []string{"column 1", "column 2"}, tab.Columns)
	assert.Equal(t, "column 3", tab.Label)
	assert.Equal(t, 7, tab.Classes())
}

func TestReadCSVLabelColumn(t *testing.T) {
	const text = "y,a,b\n1,10,20\n0,30,40\n"
	for _, label := range []string{"1", "-3", "y"} {
		tab, err := readCSV(t, text, CSVOptions{Label: label})
		require.NoError(t, err, label)
		assert.Equal(t, []float32{10, 20, 30, 40}, tab.Features, label)
		assert.Equal(t, []int32{1, 0}, tab.Labels, label)
		assert.Equal(t, []string{"a", "b"}, tab.Columns, label)
	}
	tab, err := readCSV(t, text, CSVOptions{Label: "2"})
	require.NoError(t, err)
	assert.Equal(t, []int32{10, 30}, tab.Labels)
	assert.Equal(t, []float32{1, 20, 0, 40}, tab.Features)
}

func TestReadCSVErrors(t *testing.T) {
	for _, c := range []struct {
		name, text string
		label      string
		want       string
	}{
		{"empty file", "", "", "t.csv: empty file"},
		{"blank lines only", "\n\n\n", "", "t.csv: empty file"},
		{"header only", "a,b,label\n", "", "t.csv:1: no data rows, only a header"},
		{"one column", "1\n2\n", "", "t.csv:1: 1 column; want features and a label"},
		{"ragged short", "a,b,c\n1,2,3\n4,5\n", "", "t.csv:3: 2 cells, want 3 as in line 1"},
		{"ragged long", "1,2,3\n\n4,5,6,7\n", "", "t.csv:3: 4 cells, want 3 as in line 1"},
		{"non-numeric", "a,b,c\n1,2,3\n4,x5,6\n", "", `t.csv:3: column 2 ("b"): "x5" is not a number`},
		{"non-numeric without header", "1,2,3\n4,five,6\n", "", `t.csv:2: column 2: "five" is not a number`},
		{"mixed header", "a,2,c\n1,2,3\n", "", `t.csv:1: column 1: "a" is not a number (a header row must have no numeric cells; this one has 1)`},
		{"empty cell", "a,b,c\n1,,3\n", "", `t.csv:2: column 2 ("b"): empty cell`},
		{"NaN", "1,NaN,3\n", "", `column 2: "NaN" is not finite`},
		{"Inf", "1,2,3\n-inf,2,3\n", "", `t.csv:2: column 1: "-inf" is not finite`},
		{"float32 overflow", "1,1e39,3\n", "", `column 2: "1e39" is outside float32's range`},
		{"negative label", "1,2,-1\n", "", `t.csv:1: column 3: label "-1" is not a whole number in [0, 65536)`},
		{"fractional label", "a,b,y\n1,2,0\n1,2,2.5\n", "", `t.csv:3: column 3 ("y"): label "2.5" is not a whole number`},
		{"huge label", "1,2,70000\n", "", `label "70000" is not a whole number in [0, 65536)`},
		{"NaN label", "1,2,nan\n", "", `column 3: "nan" is not finite`},
		{"label column out of range", "1,2,3\n", "4", "t.csv:1: label column 4 does not exist: the file has 3 columns (1 to 3, or -1 to -3 from the end)"},
		{"label column zero", "1,2,3\n", "0", "label column 0 does not exist"},
		{"label name without header", "1,2,3\n", "y", `label column "y": the file has no header; give a column number`},
		{"label name not in header", "a,b,c\n1,2,3\n", "y", `label column "y" is not in the header (a, b, c)`},
		{"bare quote", "a,b,c\n1,2\"x,3\n", "", "t.csv:2:4: bare \" in non-quoted-field"},
		{"unterminated quote", "a,b,c\n1,\"2,3\n", "", "t.csv:2:"},
		{"multi-line quoted cell", "a,b,c\n1,\"2\n\",3\n4,oops,6\n", "", `t.csv:4: column 2 ("b"): "oops" is not a number`},
	} {
		t.Run(c.name, func(t *testing.T) {
			tab, err := readCSV(t, c.text, CSVOptions{Label: c.label})
			require.Error(t, err)
			assert.Nil(t, tab)
			assert.True(t, strings.HasPrefix(err.Error(), "data: csv: t.csv"), err.Error())
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

func TestTableRowsShuffledExamples(t *testing.T) {
	tab, err := readCSV(t, "1,1,0\n2,2,1\n3,3,0\n4,4,1\n5,5,2\n", CSVOptions{})
	require.NoError(t, err)
	r := tab.Rows([]int{4, 0})
	assert.Equal(t, []float32{5, 5, 1, 1}, r.Features)
	assert.Equal(t, []int32{2, 0}, r.Labels)
	assert.Equal(t, 2, r.N)

	a, b := tab.Shuffled(3), tab.Shuffled(3)
	assert.Equal(t, a, b, "the same seed gives the same order")
	assert.ElementsMatch(t, tab.Labels, a.Labels)
	for i := range a.N {
		assert.Equal(t, a.Features[2*i], a.Features[2*i+1], "rows move whole")
	}
	orders := map[string]bool{}
	for seed := range uint64(8) {
		orders[fmt.Sprint(tab.Shuffled(seed).Features)] = true
	}
	assert.Greater(t, len(orders), 4, "seeds draw different orders")

	e, err := tab.Examples()
	require.NoError(t, err)
	assert.Equal(t, []int{5, 2}, []int(e.X.Shape()))
	assert.Equal(t, tensor.Float32, e.X.Dtype())
	assert.Equal(t, []int{5}, []int(e.Y.Shape()))
	assert.Equal(t, tensor.Int32, e.Y.Dtype())
	_, err = (&Table{}).Examples()
	assert.ErrorContains(t, err, "data: csv: cannot make arrays of a table of 0×0 values")
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
	return p
}

func TestLoadCSVFileErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "bad.csv", "1,2,3\n4,5\n")
	_, err := LoadCSV(p, CSVOptions{})
	assert.ErrorContains(t, err, "data: csv: "+p+":2: 2 cells, want 3")
	_, err = LoadCSV(filepath.Join(dir, "missing.csv"), CSVOptions{})
	assert.ErrorContains(t, err, "missing.csv")
}
