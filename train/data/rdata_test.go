package data

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rdataDir holds R files that R 4.2 wrote (testdata/rdata/make-fixtures.R) and the CSV
// files R's write.csv made of them.
const rdataDir = "testdata/rdata"

// frameCSV converts o to a data frame and returns its CSV.
func frameCSV(t *testing.T, o *RObject, name string) string {
	t.Helper()
	f, err := RDataFrame(o, name)
	require.NoError(t, err, name)
	var buf bytes.Buffer
	require.NoError(t, f.WriteCSV(&buf))
	return buf.String()
}

// readFixture returns a file of rdataDir as a string.
func readFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(rdataDir, name))
	require.NoError(t, err)
	return string(b)
}

// TestReadRDSMatchesR reads data frames R saved in each form (serialization versions 2
// and 3, raw, gzip and bzip2, compact 1:n and sorted ALTREP wrappers) and compares
// their CSV with the CSV R wrote of the same frames.
func TestReadRDSMatchesR(t *testing.T) {
	want := readFixture(t, "frame.csv")
	for _, file := range []string{"frame-v2.rds", "frame-v3.rds", "frame-bzip2.rds"} {
		o, err := ReadRDS(filepath.Join(rdataDir, file))
		require.NoError(t, err, file)
		assert.Equal(t, want, frameCSV(t, o, file), file)
	}
	o, err := ReadRDS(filepath.Join(rdataDir, "sorted.rds"))
	require.NoError(t, err)
	assert.Equal(t, readFixture(t, "sorted.csv"), frameCSV(t, o, "sorted.rds"))
}

// TestRDataFrameColumns checks the typed columns of the frame beyond its CSV: factor
// codes and levels, ordered factors, and each kind of NA.
func TestRDataFrameColumns(t *testing.T) {
	o, err := ReadRDS(filepath.Join(rdataDir, "frame-v3.rds"))
	require.NoError(t, err)
	f, err := RDataFrame(o, "frame-v3.rds")
	require.NoError(t, err)
	require.Equal(t, 3, f.Rows)
	require.Len(t, f.Columns, 6)
	id, fac, x, l, s, ord := f.Columns[0], f.Columns[1], f.Columns[2], f.Columns[3], f.Columns[4], f.Columns[5]
	assert.Equal(t, []int32{1, 2, 3}, id.Ints)
	assert.False(t, id.IsFactor())
	assert.Equal(t, []string{"b", "a"}, fac.Levels)
	assert.Equal(t, []int32{1, 2, 1}, fac.Ints)
	assert.False(t, fac.Ordered)
	assert.Equal(t, RReal, x.Type)
	assert.Equal(t, 1.5, x.Reals[0])
	assert.True(t, IsRNAReal(x.Reals[1]))
	assert.False(t, IsRNAReal(math.NaN()), "a plain NaN is R's NaN, not NA")
	assert.Equal(t, RLogical, l.Type)
	assert.Equal(t, []int32{1, RNAInt, 0}, l.Ints)
	assert.Equal(t, []string{"u", "", "wé"}, s.Strings)
	assert.Equal(t, []bool{false, true, false}, s.StringNA)
	assert.True(t, ord.Ordered)
	assert.Equal(t, []string{"lo", "hi"}, ord.Levels)
	assert.Equal(t, []string{"lo", "hi", "lo"}, []string{ord.Cell(0), ord.Cell(1), ord.Cell(2)})
}

func TestReadRDSLatin1(t *testing.T) {
	o, err := ReadRDS(filepath.Join(rdataDir, "latin1.rds"))
	require.NoError(t, err)
	assert.Equal(t, RString, o.Type)
	assert.Equal(t, []string{"café", "naïve"}, o.Strings)
}

func TestRLazyLoadDBMatchesR(t *testing.T) {
	for _, base := range []string{"lazy-zlib", "lazy-bzip2"} {
		db, err := OpenRLazyLoadDB(filepath.Join(rdataDir, base))
		require.NoError(t, err, base)
		assert.Equal(t, []string{"frame", "small"}, db.Names, base)
		f, err := db.DataFrame("frame")
		require.NoError(t, err, base)
		var buf bytes.Buffer
		require.NoError(t, f.WriteCSV(&buf))
		assert.Equal(t, readFixture(t, "frame.csv"), buf.String(), base)
		o, err := db.Get("small")
		require.NoError(t, err, base)
		assert.Equal(t, readFixture(t, "small.csv"), frameCSV(t, o, base), base)
		_, err = db.Get("nothing")
		assert.ErrorContains(t, err, `no variable "nothing" (the database holds "frame", "small")`)
	}
}

// TestRReaderErrors checks that what the reader does not take is refused with the file
// and the byte offset.
func TestRReaderErrors(t *testing.T) {
	for _, c := range []struct{ file, want string }{
		{"frame-xz.rds", "frame-xz.rds: xz-compressed; the reader takes raw, gzip and bzip2 files"},
		{"frame-ascii.rds", `frame-ascii.rds: byte 0: R serialization in the ASCII format; only the XDR (binary, "X\n") format is read`},
		// Header (2 + 3*4 bytes), encoding name (4 + 5), then the closure at byte 23.
		{"closure.rds", "closure.rds: byte 23: R object of type 3 (closure): the reader takes"},
	} {
		_, err := ReadRDS(filepath.Join(rdataDir, c.file))
		require.Error(t, err, c.file)
		assert.Contains(t, err.Error(), c.want)
		assert.True(t, strings.HasPrefix(err.Error(), "data: rdata: "), err.Error())
	}
	for _, c := range []struct{ file, want string }{
		{"date-column.rds", `column 1 ("d") has class Date; the reader takes plain vectors and factors`},
		{"matrix-column.rds", `column 2 ("m") has a dim attribute (a matrix column)`},
	} {
		o, err := ReadRDS(filepath.Join(rdataDir, c.file))
		require.NoError(t, err, c.file)
		_, err = RDataFrame(o, c.file)
		require.Error(t, err, c.file)
		assert.Contains(t, err.Error(), c.want)
		assert.Contains(t, err.Error(), "data: rdata: "+c.file+": byte ")
	}
	db, err := OpenRLazyLoadDB(filepath.Join(rdataDir, "lazy-xz"))
	require.NoError(t, err)
	_, err = db.Get("small")
	assert.ErrorContains(t, err, `lazy-xz.rdb: variable "small" at bytes 258..403: xz-compressed`)
	_, err = OpenRLazyLoadDB(filepath.Join(rdataDir, "frame-v3")) // no .rdx
	assert.ErrorContains(t, err, "frame-v3.rdx")
}

// rStream builds an R serialization (XDR, version 2) by hand for the tests, from the
// format's description in R Internals, independently of the reader.
type rStream struct{ b []byte }

func newRStream() *rStream {
	s := &rStream{b: []byte("X\n")}
	return s.ints(2, 0x040202, 0x020300)
}

// ints appends big-endian 32-bit integers.
func (s *rStream) ints(v ...int32) *rStream {
	for _, x := range v {
		s.b = binary.BigEndian.AppendUint32(s.b, uint32(x))
	}
	return s
}

// char appends a CHARSXP (ASCII levels bit set).
func (s *rStream) char(v string) *rStream {
	s.ints(0x40009, int32(len(v)))
	s.b = append(s.b, v...)
	return s
}

// sym appends a SYMSXP naming v.
func (s *rStream) sym(v string) *rStream { return s.ints(1).char(v) }

func TestDecodeRHandMade(t *testing.T) {
	// list(a = 7:8, b = 2.5) written out: VECSXP with attributes (0x213), two items, then
	// the names attribute: a pairlist cell with a tag (0x402), the symbol "names", a
	// character vector, NULL.
	s := newRStream().ints(0x213, 2, 13, 2, 7, 8, 14, 1)
	s.b = binary.BigEndian.AppendUint64(s.b, math.Float64bits(2.5))
	s.ints(0x402).sym("names").ints(16, 2).char("a").char("b").ints(254)
	o, err := DecodeRSerialization(s.b, "hand")
	require.NoError(t, err)
	require.Equal(t, RList, o.Type)
	assert.Equal(t, []string{"a", "b"}, o.Names())
	assert.Equal(t, []int32{7, 8}, o.Item("a").Ints)
	assert.Equal(t, []float64{2.5}, o.Item("b").Reals)

	// A back-reference: two attributes whose second name refers to the first symbol.
	s = newRStream().ints(0x20d, 1, 5, 0x402).sym("foo").ints(13, 1, 1, 0x402, 0x1ff, 13, 1, 2, 254)
	o, err = DecodeRSerialization(s.b, "ref")
	require.NoError(t, err)
	require.Len(t, o.Attrs, 2)
	assert.Equal(t, "foo", o.Attrs[0].Name)
	assert.Equal(t, "foo", o.Attrs[1].Name)
	assert.Equal(t, []int32{2}, o.Attrs[1].Value.Ints)

	// The long-vector length form: -1, then the upper and lower words.
	s = newRStream().ints(13, -1, 0, 3, 4, 5, 6)
	o, err = DecodeRSerialization(s.b, "long")
	require.NoError(t, err)
	assert.Equal(t, []int32{4, 5, 6}, o.Ints)
}

func TestDecodeRHandMadeErrors(t *testing.T) {
	deep := newRStream()
	for range MaxRDepth + 1 {
		deep.ints(19, 1)
	}
	deep.ints(254)
	for _, c := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, `byte 0: not an R serialization in XDR format: want "X\n", got ""`},
		{"gzip", []byte{0x1f, 0x8b, 8}, "byte 0: gzip data, not an R serialization"},
		{"version", newRStream().b[:2], "byte 2: stream ends inside a 4-byte field"},
		{"version 4", append([]byte("X\n"), 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0), "byte 2: serialization format version 4"},
		{"no object", newRStream().b, "byte 14: stream ends inside a 4-byte field (0 bytes remain)"},
		{"forged length", newRStream().ints(13, 1<<30, 1).b, "byte 18: integer vector of 1073741824 elements (4 bytes or more each) but 4 bytes remain"},
		{"forged long length", newRStream().ints(14, -1, 0x7fffffff, -1).b, "byte 18: double vector of 9223372036854775807 elements"},
		{"negative length", newRStream().ints(16, -5).b, "byte 18: character vector of negative length -5"},
		{"bad reference", newRStream().ints(0x2ff).b, "byte 14: reference 2, but 0 objects have been stored for reference"},
		{"trailing bytes", newRStream().ints(254, 0).b, "byte 18: 4 bytes after the object"},
		{"complex", newRStream().ints(15, 0).b, "byte 14: R object of type 15 (complex vector)"},
		{"environment", newRStream().ints(4).b, "byte 14: R object of type 4 (environment)"},
		{"persistent", newRStream().ints(247).b, "byte 14: R object of type 247 (persistent reference"},
		{"stray string", newRStream().char("x").b, "byte 14: a string (CHARSXP) outside a character vector"},
		{"string not char", newRStream().ints(16, 1, 13, 0).b, "byte 22: element of a character vector is an R object of type 13"},
		{"string too long", newRStream().ints(16, 1, 9, 100).b, "byte 26: element of a character vector of 100 bytes, but 0 bytes remain"},
		{"tag not symbol", newRStream().ints(0x402, 13, 0).b, "byte 18: pairlist tag is an R object of type 13"},
		{"attributes not pairlist", newRStream().ints(0x20d, 0, 13, 0).b, "byte 22: attributes are an R object of type 13 (integer vector), want a pairlist"},
		{"unnamed attribute", newRStream().ints(0x20d, 0, 2, 254, 254).b, "byte 22: attribute 1 has no name"},
		{"altrep class", newRStream().ints(238, 2).sym("deferred_string").ints(2).sym("base").ints(254, 254, 254).b, "byte 14: ALTREP class deferred_string of package base"},
		{"too deep", deep.b, "nested more than 256 deep"},
	} {
		o, err := DecodeRSerialization(c.b, "t.rds")
		require.Error(t, err, c.name)
		assert.Nil(t, o, c.name)
		assert.Equal(t, "data: rdata: t.rds: ", err.Error()[:len("data: rdata: t.rds: ")], c.name)
		assert.Contains(t, err.Error(), c.want, c.name)
	}
}

// TestDecodeRTruncated cuts a real serialization (the frame R wrote) at every length:
// each prefix must be an error, never a panic.
func TestDecodeRTruncated(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(rdataDir, "frame-v2.rds"))
	require.NoError(t, err)
	_, err = DecodeRSerialization(b, "whole")
	require.NoError(t, err)
	for n := range len(b) {
		_, err := DecodeRSerialization(b[:n], "cut")
		require.Error(t, err, "prefix of %d bytes", n)
		require.True(t, strings.HasPrefix(err.Error(), "data: rdata: cut: byte "), err.Error())
	}
}

func TestDecodeRLazyLoadEntry(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(rdataDir, "frame-v2.rds"))
	require.NoError(t, err)
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	_, err = zw.Write(raw)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	head := binary.BigEndian.AppendUint32(nil, uint32(len(raw)))

	zlibEntry := slices.Concat(head, z.Bytes())
	o, err := DecodeRLazyLoadEntry(zlibEntry, 1, "e")
	require.NoError(t, err)
	assert.Equal(t, readFixture(t, "frame.csv"), frameCSV(t, o, "e"))
	stored := slices.Concat(head, []byte{'0'}, raw)
	o, err = DecodeRLazyLoadEntry(stored, 2, "e")
	require.NoError(t, err)
	assert.Equal(t, readFixture(t, "frame.csv"), frameCSV(t, o, "e"))
	typed := slices.Concat(head, []byte{'1'}, z.Bytes())
	_, err = DecodeRLazyLoadEntry(typed, 3, "e")
	require.NoError(t, err)

	wrongLen := slices.Concat(binary.BigEndian.AppendUint32(nil, uint32(len(raw)+1)), z.Bytes())
	for _, c := range []struct {
		b          []byte
		compressed int
		want       string
	}{
		{head[:3], 1, "data: rdata: e: 3 bytes, too short for the 4-byte length"},
		{wrongLen, 1, "decompresses to 513 bytes, but its header says 514"},
		{slices.Concat(head, []byte{'q'}), 2, `unknown compression type byte 'q'`},
		{zlibEntry, 4, "compression 4; want 1, 2 or 3"},
		{slices.Concat(head, []byte{1, 2, 3}), 1, "data: rdata: e: zlib: "},
		{slices.Concat(head, []byte{'0'}), 2, "stored entry of 0 bytes, but its header says 513"},
		{zlibEntry[:len(zlibEntry)-10], 1, "data: rdata: e: decompressing: "},
	} {
		_, err := DecodeRLazyLoadEntry(c.b, c.compressed, "e")
		assert.ErrorContains(t, err, c.want)
	}
	// A decoding error inside an entry names the entry and the decompressed offset.
	cut := slices.Concat(binary.BigEndian.AppendUint32(nil, 18), []byte{'0'}, newRStream().ints(15).b)
	_, err = DecodeRLazyLoadEntry(cut, 2, "x.rdb: variable \"v\" at bytes 0..21")
	assert.ErrorContains(t, err, `data: rdata: x.rdb: variable "v" at bytes 0..21: byte 14: R object of type 15`)
}

// lme4DataBase returns the base path of the data lazy-load database of Debian's
// r-cran-lme4 package: where `make data-insteval` copies it, or the installed package.
func lme4DataBase(t *testing.T) string {
	for _, base := range []string{"../../data/insteval/Rdata", "/usr/lib/R/site-library/lme4/data/Rdata"} {
		if _, err := os.Stat(base + ".rdb"); err == nil {
			return base
		}
	}
	t.Skip("lme4's data/Rdata.rdb not found in data/insteval or /usr/lib/R/site-library/lme4: run `make data-insteval` (apt-get download r-cran-lme4)")
	return ""
}

// TestRLazyLoadInstEvalReal reads InstEval from Debian's r-cran-lme4 package and checks
// it against what R reports of it (str(InstEval), table(InstEval$y) in R 4.2).
func TestRLazyLoadInstEvalReal(t *testing.T) {
	db, err := OpenRLazyLoadDB(lme4DataBase(t))
	require.NoError(t, err)
	assert.Contains(t, db.Names, "InstEval")
	f, err := db.DataFrame("InstEval")
	require.NoError(t, err)
	require.Equal(t, 73421, f.Rows)
	var names []string
	for _, c := range f.Columns {
		names = append(names, c.Name)
	}
	require.Equal(t, []string{"s", "d", "studage", "lectage", "service", "dept", "y"}, names)
	levels := map[string]int{"s": 2972, "d": 1128, "studage": 4, "lectage": 6, "service": 2, "dept": 14}
	for _, c := range f.Columns[:6] {
		assert.Len(t, c.Levels, levels[c.Name], c.Name)
		seen := map[int32]bool{}
		for _, v := range c.Ints {
			seen[v] = true
		}
		assert.Len(t, seen, levels[c.Name], "%s: every level is used", c.Name)
	}
	assert.Equal(t, []string{"2", "4", "6", "8"}, f.Columns[2].Levels)
	assert.True(t, f.Columns[2].Ordered)
	assert.False(t, f.Columns[4].Ordered)
	assert.Nil(t, f.Columns[6].Levels)
	hist := map[int32]int{}
	for _, v := range f.Columns[6].Ints {
		hist[v]++
	}
	assert.Equal(t, map[int32]int{1: 10186, 2: 12951, 3: 17609, 4: 16921, 5: 15754}, hist)
	// R's first rows: s 1 1, d 1002 1050, studage 2 2, lectage 2 1, service 0 1, dept 2 6, y 5 2.
	var row []string
	for _, c := range f.Columns {
		row = append(row, c.Cell(0), c.Cell(1))
	}
	assert.Equal(t, []string{"1", "1", "1002", "1050", "2", "2", "2", "1", "0", "1", "2", "6", "5", "2"}, row)

	// Every other data set of the package decodes too (Arabidopsis, sleepstudy, ...).
	for _, n := range db.Names {
		_, err := db.DataFrame(n)
		assert.NoError(t, err, n)
	}
}

// TestRFrameWriteCSVQuoting writes cells that need quotes and reads them back with
// encoding/csv.
func TestRFrameWriteCSVQuoting(t *testing.T) {
	cells := []string{"", "a,b", `say "hi"`, "two\nlines", " lead", "plain"}
	for _, cols := range []int{1, 2} {
		f := &RFrame{Rows: len(cells)}
		for j := range cols {
			f.Columns = append(f.Columns, RColumn{Name: []string{"x y", "z"}[j], Type: RString, Strings: cells})
		}
		var buf bytes.Buffer
		require.NoError(t, f.WriteCSV(&buf))
		recs, err := csv.NewReader(&buf).ReadAll()
		require.NoError(t, err)
		require.Len(t, recs, len(cells)+1, "%d columns:\n%s", cols, buf.String())
		for i, c := range cells {
			for j := range cols {
				assert.Equal(t, c, recs[i+1][j])
			}
		}
	}
}
