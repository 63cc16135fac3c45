package data

import (
	"bytes"
	"encoding/csv"
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

// FuzzDecodeR feeds arbitrary bytes to the R reader: to DecodeRSerialization when
// compressed is 0, else to DecodeRLazyLoadEntry with compressed mod 4 (a lazy-load
// database's entry: a length, then zlib, or a type byte and stored, zlib or bzip2 data).
// It must never panic; a failure must be an error naming the package and the name
// given; an object must be consistent, and when it converts to a data frame, each column
// must have the frame's length and its CSV must read back as Rows+1 records of the
// frame's width. The seed corpus in testdata/fuzz/FuzzDecodeR holds serializations R
// wrote (data frames with factors, NAs, compact and sorted ALTREP vectors, a lazy-load
// index, entries of each compression) and cut or corrupted ones.
func FuzzDecodeR(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte, compressed uint8) {
		var o *RObject
		var err error
		if compressed == 0 {
			o, err = DecodeRSerialization(b, "fuzz.rds")
		} else {
			o, err = DecodeRLazyLoadEntry(b, int(compressed%4), "fuzz.rds")
		}
		if err != nil {
			require.Nil(t, o)
			require.True(t, strings.HasPrefix(err.Error(), "data: rdata: fuzz.rds"), "error %q", err)
			return
		}
		checkRObject(t, o, 0)
		fr, err := RDataFrame(o, "fuzz.rds")
		if err != nil {
			require.True(t, strings.HasPrefix(err.Error(), "data: rdata: fuzz.rds: byte "), "error %q", err)
			return
		}
		var buf bytes.Buffer
		require.NoError(t, fr.WriteCSV(&buf))
		cr := csv.NewReader(&buf)
		cr.FieldsPerRecord = len(fr.Columns)
		recs, err := cr.ReadAll()
		if len(fr.Columns) == 0 {
			return // a frame without columns writes empty lines, which CSV readers skip
		}
		require.NoError(t, err)
		require.Len(t, recs, fr.Rows+1)
	})
}

// checkRObject asserts that o's fields agree with its type, recursively.
func checkRObject(t *testing.T, o *RObject, depth int) {
	require.NotNil(t, o)
	require.LessOrEqual(t, depth, MaxRDepth+1)
	switch o.Type {
	case RString:
		if o.StringNA != nil {
			require.Len(t, o.StringNA, len(o.Strings))
		}
	case RPairlist:
		require.Len(t, o.Tags, len(o.Items))
	case RList, RInt, RLogical, RReal, RRaw, RNull, RSymbol:
	default:
		t.Fatalf("object of type %d", o.Type)
	}
	for _, it := range o.Items {
		checkRObject(t, it, depth+1)
	}
	for _, a := range o.Attrs {
		require.NotEmpty(t, a.Name)
		checkRObject(t, a.Value, depth+1)
	}
}

// FuzzReadRatingsCSV feeds arbitrary text and column options to ReadRatingsCSV. It must
// never panic; a failure must be an error naming the package and the file; a table must
// be consistent: N ratings, finite, with user, item and side codes inside their id
// tables, which hold distinct non-empty ids numbered in order of first appearance, and
// Split must share out every row once. The seed corpus in testdata/fuzz/
// FuzzReadRatingsCSV holds valid files (header or not, options by name and number,
// side fields, quotes, a byte-order mark) and each kind of error.
func FuzzReadRatingsCSV(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte, user, item, rating string) {
		r, err := ReadRatingsCSV(bytes.NewReader(b), "fuzz.csv", RatingsOptions{User: user, Item: item, Rating: rating})
		if err != nil {
			require.Nil(t, r)
			require.True(t, strings.HasPrefix(err.Error(), "data: ratings: fuzz.csv"), "error %q", err)
			return
		}
		require.Positive(t, r.N)
		require.Len(t, r.Values, r.N)
		for _, v := range r.Values {
			require.False(t, math.IsNaN(float64(v)) || math.IsInf(float64(v), 0), "rating %v", v)
		}
		checkCodes := func(what string, codes []int32, ids []string) {
			require.Len(t, codes, r.N, what)
			seen := map[string]bool{}
			for _, id := range ids {
				require.NotEmpty(t, id, what)
				require.False(t, seen[id], "%s: id %q twice", what, id)
				seen[id] = true
			}
			next := int32(0)
			for _, c := range codes {
				require.True(t, c >= 0 && c <= next && int(c) < len(ids), "%s: code %d (next new one %d)", what, c, next)
				if c == next {
					next++
				}
			}
			require.Equal(t, int(next), len(ids), what)
		}
		checkCodes("users", r.Users, r.UserIDs)
		checkCodes("items", r.Items, r.ItemIDs)
		for _, s := range r.Side {
			checkCodes(s.Name, s.Codes, s.Levels)
		}
		train, val, test := r.Split(1)
		require.Equal(t, r.N, train.N+val.N+test.N)
	})
}
