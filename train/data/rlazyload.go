package data

import (
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"io"
	"os"
)

// MaxRDecompressed bounds the decompressed size of an RDS file or a lazy-load database
// entry the R reader accepts: 1 GiB.
const MaxRDecompressed = 1 << 30

// ReadRDS reads an R object from an RDS file (saveRDS): an R serialization in XDR
// format (DecodeRSerialization), raw or gzip- or bzip2-compressed (recognised by the
// magic bytes; xz is refused by name). Errors start "data: rdata: PATH" and name the byte
// offset in the decompressed stream.
func ReadRDS(path string) (*RObject, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("data: rdata: %w", err)
	}
	name := path
	var r io.Reader
	switch {
	case bytes.HasPrefix(b, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("data: rdata: %s: gzip: %v", path, err)
		}
		r, name = zr, path+" (gunzipped)"
	case bytes.HasPrefix(b, []byte("BZh")):
		r, name = bzip2.NewReader(bytes.NewReader(b)), path+" (bunzipped)"
	case bytes.HasPrefix(b, []byte{0xFD, '7', 'z', 'X', 'Z', 0}):
		return nil, fmt.Errorf("data: rdata: %s: xz-compressed; the reader takes raw, gzip and bzip2 files (re-save it with saveRDS(x, compress = \"gzip\"))", path)
	}
	if r != nil {
		if b, err = readAllLimited(r, MaxRDecompressed, -1); err != nil {
			return nil, fmt.Errorf("data: rdata: %s: %v", path, err)
		}
	}
	return DecodeRSerialization(b, name)
}

// readAllLimited reads r to its end, failing when it holds more than limit bytes; want
// >= 0 is the size the caller expects (the buffer starts at that size, bounded by
// firstChunk, and other sizes are errors).
func readAllLimited(r io.Reader, limit int, want int) ([]byte, error) {
	var buf bytes.Buffer
	if want >= 0 {
		buf.Grow(min(want, firstChunk))
	}
	n, err := io.Copy(&buf, io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("decompressing: %v", err)
	}
	if n > int64(limit) {
		return nil, fmt.Errorf("decompresses to more than %d bytes", limit)
	}
	if want >= 0 && int(n) != want {
		return nil, fmt.Errorf("decompresses to %d bytes, but its header says %d", n, want)
	}
	return buf.Bytes(), nil
}

// RLazyLoadDB is an R lazy-load database: the FILE.rdx index and the FILE.rdb values,
// as R packages store their data sets (data/Rdata.rdx, data/Rdata.rdb) and code.
//
// The index is an RDS file holding list(variables = list(NAME = c(offset, length), ...),
// references = list(...), compressed = TRUE, 2 or 3). Each value is the bytes
// [offset, offset+length) of the .rdb file: a 4-byte big-endian decompressed length,
// then (compressed TRUE) a zlib stream, or (2, 3) a type byte, '0' stored, '1' zlib,
// '2' bzip2 or 'Z' xz, and the data. The decompressed bytes are an R serialization
// (DecodeRSerialization). Values that refer to environments stored elsewhere in the
// database (references) are refused, as is xz.
type RLazyLoadDB struct {
	// Base is the path without the .rdx or .rdb suffix.
	Base string
	// Names are the variables in the index, in its order.
	Names []string
	// entries maps a variable to its offset and length in the .rdb file.
	entries map[string][2]int
	// compressed is the index's compressed field: 1 (zlib), 2 or 3 (a type byte first).
	compressed int
}

// OpenRLazyLoadDB reads the index base+".rdx" of a lazy-load database (the .rdb file is
// read by Get). Errors name the file and say what is wrong with the index.
func OpenRLazyLoadDB(base string) (*RLazyLoadDB, error) {
	path := base + ".rdx"
	idx, err := ReadRDS(path)
	if err != nil {
		return nil, err
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("data: rdata: %s: not a lazy-load index: %s", path, fmt.Sprintf(format, args...))
	}
	if idx.Type != RList {
		return nil, fail("an R object of %s, want a list", rTypeName(int(idx.Type)))
	}
	vars := idx.Item("variables")
	if vars == nil || vars.Type != RList {
		return nil, fail("no list called variables")
	}
	db := &RLazyLoadDB{Base: base, entries: map[string][2]int{}}
	switch c := idx.Item("compressed"); {
	case c == nil || (c.Type != RLogical && c.Type != RInt) || len(c.Ints) != 1:
		return nil, fail("no compressed field (TRUE, 2 or 3)")
	case c.Ints[0] >= 1 && c.Ints[0] <= 3:
		db.compressed = int(c.Ints[0])
	default:
		return nil, fail("compressed is %d; the reader takes TRUE (zlib), 2 and 3", c.Ints[0])
	}
	names := vars.Names()
	if len(names) != len(vars.Items) {
		return nil, fail("the variables have no names")
	}
	for i, v := range vars.Items {
		if v.Type != RInt || len(v.Ints) != 2 || v.Ints[0] < 0 || v.Ints[1] < 4 {
			return nil, fail("variable %q has no (offset, length) pair", names[i])
		}
		db.entries[names[i]] = [2]int{int(v.Ints[0]), int(v.Ints[1])}
	}
	db.Names = names
	return db, nil
}

// Get reads the variable called name from the .rdb file. Errors name the file, the
// variable, its byte range in the file and the offset in its decompressed serialization.
func (db *RLazyLoadDB) Get(name string) (*RObject, error) {
	e, ok := db.entries[name]
	if !ok {
		return nil, fmt.Errorf("data: rdata: %s.rdx: no variable %q (the database holds %s)", db.Base, name, quoteNames(db.Names))
	}
	path := db.Base + ".rdb"
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: rdata: %w", err)
	}
	defer f.Close()
	b := make([]byte, e[1])
	if _, err := f.ReadAt(b, int64(e[0])); err != nil {
		return nil, fmt.Errorf("data: rdata: %s: variable %q at bytes %d..%d: %v", path, name, e[0], e[0]+e[1], err)
	}
	return DecodeRLazyLoadEntry(b, db.compressed, fmt.Sprintf("%s: variable %q at bytes %d..%d", path, name, e[0], e[0]+e[1]))
}

// DataFrame reads the variable called name and converts it with RDataFrame.
func (db *RLazyLoadDB) DataFrame(name string) (*RFrame, error) {
	o, err := db.Get(name)
	if err != nil {
		return nil, err
	}
	return RDataFrame(o, fmt.Sprintf("%s.rdb: variable %q", db.Base, name))
}

// DecodeRLazyLoadEntry decompresses one value of a lazy-load database (see RLazyLoadDB;
// compressed is the index's compressed field: 1, 2 or 3) and decodes it. name prefixes
// errors, which report a short entry, an unknown or unsupported compression, a
// decompressed size other than the header's, and DecodeRSerialization's errors, whose
// byte offsets count in the decompressed stream ("(decompressed)").
func DecodeRLazyLoadEntry(b []byte, compressed int, name string) (*RObject, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("data: rdata: %s: %s", name, fmt.Sprintf(format, args...))
	}
	if len(b) < 4 {
		return nil, fail("%d bytes, too short for the 4-byte length", len(b))
	}
	want := int(binary.BigEndian.Uint32(b))
	if want > MaxRDecompressed {
		return nil, fail("claims %d decompressed bytes, more than %d", want, MaxRDecompressed)
	}
	kind, data := byte('1'), b[4:]
	switch compressed {
	case 1:
	case 2, 3:
		if len(b) < 5 {
			return nil, fail("no compression type byte")
		}
		kind, data = b[4], b[5:]
	default:
		return nil, fail("compression %d; want 1, 2 or 3", compressed)
	}
	var r io.Reader
	switch kind {
	case '0':
		if len(data) != want {
			return nil, fail("stored entry of %d bytes, but its header says %d", len(data), want)
		}
		return DecodeRSerialization(data, name)
	case '1':
		zr, err := zlib.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fail("zlib: %v", err)
		}
		r = zr
	case '2':
		r = bzip2.NewReader(bytes.NewReader(data))
	case 'Z':
		return nil, fail("xz-compressed; the reader takes zlib and bzip2 (R's compress = TRUE or 2)")
	default:
		return nil, fail("unknown compression type byte %q", kind)
	}
	out, err := readAllLimited(r, want, want)
	if err != nil {
		return nil, fail("%v", err)
	}
	return DecodeRSerialization(out, name+" (decompressed)")
}
