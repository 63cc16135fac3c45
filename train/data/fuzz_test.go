package data

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzDecodeIDX feeds arbitrary bytes to DecodeIDX. It must never panic; a successful
// decode must have 1..MaxIDXDims dims whose product is the data length, and a failure
// must be an error naming the package and the file. The seed corpus in
// testdata/fuzz/FuzzDecodeIDX holds valid, truncated, padded and gzipped files.
func FuzzDecodeIDX(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeIDX(bytes.NewReader(b), "fuzz.idx")
		if err != nil {
			require.Nil(t, m)
			require.True(t, strings.HasPrefix(err.Error(), "data: file fuzz.idx: "), "error %q", err)
			return
		}
		require.NotEmpty(t, m.Dims)
		require.LessOrEqual(t, len(m.Dims), MaxIDXDims)
		n := 1
		for _, d := range m.Dims {
			require.GreaterOrEqual(t, d, 0)
			n *= d
		}
		assert.Equal(t, n, len(m.Data), "dims %v", m.Dims)
		assert.Equal(t, "fuzz.idx", m.Name)
	})
}

// FuzzReadCSV feeds arbitrary text and label options to ReadCSV. It must never panic; a
// table it returns must be consistent (N×F finite features, N labels in range, F column
// names, at least one row and one feature), and a failure must be an error naming the
// package and the file. The seed corpus in testdata/fuzz/FuzzReadCSV holds valid files
// (with and without header, quoted cells, a byte-order mark) and each kind of error.
func FuzzReadCSV(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte, label string) {
		tab, err := ReadCSV(bytes.NewReader(b), "fuzz.csv", CSVOptions{Label: label})
		if err != nil {
			require.Nil(t, tab)
			require.True(t, strings.HasPrefix(err.Error(), "data: csv: fuzz.csv"), "error %q", err)
			return
		}
		require.Positive(t, tab.N)
		require.Positive(t, tab.F)
		require.Len(t, tab.Features, tab.N*tab.F)
		require.Len(t, tab.Labels, tab.N)
		require.Len(t, tab.Columns, tab.F)
		for _, v := range tab.Features {
			require.False(t, math.IsNaN(float64(v)) || math.IsInf(float64(v), 0), "feature %v", v)
		}
		for _, l := range tab.Labels {
			require.True(t, l >= 0 && l < MaxCSVClasses, "label %d", l)
		}
		assert.Equal(t, int(slices.Max(tab.Labels))+1, tab.Classes())
		_, err = tab.Examples()
		require.NoError(t, err)
	})
}
