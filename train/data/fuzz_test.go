package data

import (
	"bytes"
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
