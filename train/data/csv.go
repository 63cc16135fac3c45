package data

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"

	"gorgonia.org/tensor"
)

// MaxCSVClasses bounds the labels a CSV file may hold: a label is a class index, and
// the classifier gets one output per class.
const MaxCSVClasses = 1 << 16

// Table is a labelled data set of numeric rows, as read from a CSV file: N examples of
// F float32 features and a class label each.
type Table struct {
	// Features holds the N×F features, row-major: feature j of example i is
	// Features[i*F+j].
	Features []float32
	// Labels holds the N class indices, each in [0, MaxCSVClasses).
	Labels []int32
	// N is the number of examples, F the number of features.
	N, F int
	// Columns names the F feature columns: the header's names, or "column 1"… (the
	// file's 1-based column numbers) without a header.
	Columns []string
	// Label names the label column, as Columns does.
	Label string
}

// CSVOptions configure ReadCSV.
type CSVOptions struct {
	// Label selects the label column: "" for the last column; a column number, 1 for
	// the first and negative ones counting from the end (-1 is the last); or a header
	// name.
	Label string
}

// LoadCSV reads a CSV file (see ReadCSV); errors name the file.
func LoadCSV(path string, o CSVOptions) (*Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: csv: %w", err)
	}
	defer f.Close()
	return ReadCSV(f, path, o)
}

// ReadCSV reads a table of numbers with one label column (CSVOptions.Label) from r;
// name (the file name) prefixes errors. Cells are separated by commas, may be quoted and
// may have spaces around them; blank lines are skipped, as is a UTF-8 byte-order mark.
//
// The first row is a header when none of its cells is a number; if some are numbers
// and others not, it is an error. Every other cell must be a finite number that fits in
// float32 (NaN, Inf and empty cells are errors), and every label a non-negative whole
// number below MaxCSVClasses ("3" or "3.0").
//
// Errors start "data: csv: NAME:LINE: " (1-based lines) and name the column by its
// 1-based number and header name: a file without data rows, fewer than two columns,
// rows with another number of cells than the first ("4 cells, want 5"), non-numeric,
// empty or non-finite cells, bad labels, a label option naming no column, and CSV
// syntax errors (with the column).
func ReadCSV(r io.Reader, name string, o CSVOptions) (*Table, error) {
	rows := newCSVRows(r, "data: csv: "+name)
	fail, read := rows.errorf, rows.next
	rec, line, err := read()
	if err == io.EOF {
		return nil, fmt.Errorf("data: csv: %s: empty file", name)
	}
	if err != nil {
		return nil, err
	}
	cols := len(rec)
	if cols < 2 {
		return nil, fail(line, "%d column; want features and a label, at least 2 columns", cols)
	}
	firstLine := line
	t := &Table{}
	numeric := 0
	for _, c := range rec {
		if _, err := strconv.ParseFloat(strings.TrimSpace(c), 64); err == nil {
			numeric++
		}
	}
	var header []string
	switch numeric {
	case 0:
		header = make([]string, cols)
		for i, c := range rec {
			header[i] = strings.TrimSpace(c)
		}
	case cols:
	default:
		for i, c := range rec {
			if _, err := strconv.ParseFloat(strings.TrimSpace(c), 64); err != nil {
				return nil, fail(line, "column %d: %q is not a number (a header row must have no numeric cells; this one has %d)", i+1, c, numeric)
			}
		}
	}
	label, err := csvColumn("label", o.Label, header, cols, cols-1)
	if err != nil {
		return nil, fail(line, "%v", err)
	}
	t.F = cols - 1
	for i := range cols {
		if i == label {
			t.Label = csvColumnName(header, i)
		} else {
			t.Columns = append(t.Columns, csvColumnName(header, i))
		}
	}
	cell := func(i int) string { return csvCellName(header, i) }
	if header != nil {
		if rec, line, err = read(); err == io.EOF {
			return nil, fail(firstLine, "no data rows, only a header")
		} else if err != nil {
			return nil, err
		}
	}
	for {
		if len(rec) != cols {
			return nil, fail(line, "%d cells, want %d as in line %d", len(rec), cols, firstLine)
		}
		for i, c := range rec {
			l := rows.line(i)
			v, bad := csvFloat(c)
			if bad != "" {
				return nil, fail(l, "%s: %s", cell(i), bad)
			}
			if i == label {
				if v < 0 || float64(v) != math.Trunc(float64(v)) || v >= MaxCSVClasses {
					return nil, fail(l, "%s: label %q is not a whole number in [0, %d)", cell(i), c, MaxCSVClasses)
				}
				t.Labels = append(t.Labels, int32(v))
				continue
			}
			t.Features = append(t.Features, v)
		}
		t.N++
		if rec, line, err = read(); err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
	}
	return t, nil
}

// csvRows reads the records of a CSV stream as ReadCSV and ReadRatingsCSV take them: a
// UTF-8 byte-order mark is skipped, cells are separated by commas, may be quoted and may
// have spaces before them, blank lines are skipped, and rows may have any number of
// cells (the callers check that, with clearer messages).
type csvRows struct {
	cr     *csv.Reader
	prefix string // "data: csv: NAME", the start of every error
}

func newCSVRows(r io.Reader, prefix string) *csvRows {
	br := bufio.NewReader(r)
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte{0xEF, 0xBB, 0xBF}) {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	return &csvRows{cr: cr, prefix: prefix}
}

// next returns the next record (valid until the next call) and its 1-based line;
// io.EOF at the end; a syntax error as "PREFIX:LINE:COLUMN: ...".
func (c *csvRows) next() ([]string, int, error) {
	rec, err := c.cr.Read()
	if err == io.EOF {
		return nil, 0, err
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return nil, 0, fmt.Errorf("%s:%d:%d: %v", c.prefix, pe.Line, pe.Column, pe.Err)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", c.prefix, err)
	}
	return rec, c.line(0), nil
}

// line returns the line on which cell i of the last record starts.
func (c *csvRows) line(i int) int {
	l, _ := c.cr.FieldPos(i)
	return l
}

// errorf returns the error "PREFIX:LINE: ...".
func (c *csvRows) errorf(line int, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", c.prefix, line, fmt.Sprintf(format, args...))
}

// csvFloat parses a cell as a finite float32; bad says why it is not one ("empty cell",
// `"x" is not a number`, ... is outside float32's range, ... is not finite), "" if it is.
func csvFloat(cell string) (v float32, bad string) {
	s := strings.TrimSpace(cell)
	if s == "" {
		return 0, "empty cell"
	}
	f, err := strconv.ParseFloat(s, 32)
	var ne *strconv.NumError
	switch {
	case errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange):
		return 0, fmt.Sprintf("%q is outside float32's range", cell)
	case err != nil:
		return 0, fmt.Sprintf("%q is not a number", cell)
	case math.IsNaN(f) || math.IsInf(f, 0):
		return 0, fmt.Sprintf("%q is not finite", cell)
	}
	return float32(f), ""
}

// csvColumnName names column i (0-based) by its header name, or "column N" (1-based)
// without one.
func csvColumnName(header []string, i int) string {
	if header != nil && header[i] != "" {
		return header[i]
	}
	return fmt.Sprintf("column %d", i+1)
}

// csvCellName names column i for errors: `column N ("name")`, or "column N".
func csvCellName(header []string, i int) string {
	if header != nil && header[i] != "" {
		return fmt.Sprintf("column %d (%q)", i+1, header[i])
	}
	return fmt.Sprintf("column %d", i+1)
}

// csvColumn resolves a column option (CSVOptions.Label, or the ratings: options) to a
// 0-based column index: "" gives def; a number is 1-based, or counts from the end when
// negative (-1 is the last); anything else is a header name. role names the column in
// errors ("label column 4 does not exist...").
func csvColumn(role, opt string, header []string, cols, def int) (int, error) {
	opt = strings.TrimSpace(opt)
	if opt == "" {
		return def, nil
	}
	if n, err := strconv.Atoi(opt); err == nil {
		switch {
		case n >= 1 && n <= cols:
			return n - 1, nil
		case n <= -1 && n >= -cols:
			return cols + n, nil
		}
		return 0, fmt.Errorf("%s column %d does not exist: the file has %d columns (1 to %d, or -1 to -%d from the end)", role, n, cols, cols, cols)
	}
	for i, h := range header {
		if h == opt {
			return i, nil
		}
	}
	if header == nil {
		return 0, fmt.Errorf("%s column %q: the file has no header; give a column number", role, opt)
	}
	return 0, fmt.Errorf("%s column %q is not in the header (%s)", role, opt, strings.Join(header, ", "))
}

// Classes is the number of classes the labels range over: the largest label plus one.
func (t *Table) Classes() int {
	c := int32(-1)
	for _, l := range t.Labels {
		c = max(c, l)
	}
	return int(c) + 1
}

// Rows returns the examples at the given indices, in that order, as a new Table.
func (t *Table) Rows(idx []int) *Table {
	out := &Table{N: len(idx), F: t.F, Columns: t.Columns, Label: t.Label,
		Features: make([]float32, 0, len(idx)*t.F), Labels: make([]int32, 0, len(idx))}
	for _, i := range idx {
		out.Features = append(out.Features, t.Features[i*t.F:(i+1)*t.F]...)
		out.Labels = append(out.Labels, t.Labels[i])
	}
	return out
}

// Shuffled returns the examples in an order drawn from seed (the same seed, the same
// order), as a new Table.
func (t *Table) Shuffled(seed uint64) *Table {
	return t.Rows(rand.New(rand.NewPCG(seed, 0x6373765f73687566)).Perm(t.N))
}

// Examples converts the table to arrays: X of shape (N, F) and type Float32, Y of shape
// (N) and type Int32, sharing the table's memory. The error reports an empty table.
func (t *Table) Examples() (Examples, error) {
	if t.N == 0 || t.F == 0 || len(t.Features) != t.N*t.F || len(t.Labels) != t.N {
		return Examples{}, fmt.Errorf("data: csv: cannot make arrays of a table of %d×%d values (%d features, %d labels)", t.N, t.F, len(t.Features), len(t.Labels))
	}
	return Examples{
		X: tensor.New(tensor.WithShape(t.N, t.F), tensor.WithBacking(t.Features)),
		Y: tensor.New(tensor.WithShape(t.N), tensor.WithBacking(t.Labels)),
	}, nil
}
