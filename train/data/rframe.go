package data

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// RFrame is an R data frame as columns: Rows rows, one RColumn per variable.
type RFrame struct {
	Rows    int
	Columns []RColumn
}

// RColumn is one column of an RFrame: an integer, logical, double or character vector
// of the frame's length, or a factor (integer codes and their levels).
type RColumn struct {
	Name string
	// Type is RInt (integers and factors), RLogical, RReal or RString.
	Type RType
	// Ints holds integer and logical values and factor codes (1-based indices into
	// Levels); RNAInt is NA.
	Ints []int32
	// Reals holds double values (IsRNAReal for NA).
	Reals []float64
	// Strings holds character values; StringNA marks the NAs (nil when none).
	Strings  []string
	StringNA []bool
	// Levels are a factor's labels (nil for other columns); Ordered is true for an
	// ordered factor.
	Levels  []string
	Ordered bool
}

// IsFactor reports whether c is a factor.
func (c *RColumn) IsFactor() bool { return c.Levels != nil }

// Cell returns row i of c as text, as R's write.csv(quote = FALSE) writes it: a factor's
// label, an integer in decimal, TRUE or FALSE, a double in the shortest form that reads
// back the same ("1.5", "1e+06" as "1e+06", Inf, -Inf, NaN), and "NA" for NA.
func (c *RColumn) Cell(i int) string {
	switch c.Type {
	case RInt, RLogical:
		v := c.Ints[i]
		switch {
		case v == RNAInt:
			return "NA"
		case c.Levels != nil:
			return c.Levels[v-1]
		case c.Type == RLogical && v != 0:
			return "TRUE"
		case c.Type == RLogical:
			return "FALSE"
		}
		return strconv.Itoa(int(v))
	case RReal:
		v := c.Reals[i]
		switch {
		case IsRNAReal(v):
			return "NA"
		case math.IsNaN(v):
			return "NaN"
		case math.IsInf(v, 1):
			return "Inf"
		case math.IsInf(v, -1):
			return "-Inf"
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	case RString:
		if c.StringNA != nil && c.StringNA[i] {
			return "NA"
		}
		return c.Strings[i]
	}
	return ""
}

// RDataFrame converts o, a decoded data.frame, to an RFrame. Every column must be a
// plain integer, logical, double or character vector, or a factor (an integer vector
// of class "factor", or c("ordered", "factor"), with character levels), of the length
// that the row.names attribute gives: an integer or character vector of the names, or
// the compact form c(NA, -n) (or c(NA, n)) R uses for 1:n.
//
// name (the file and variable) prefixes errors: "data: rdata: NAME: byte N: ...", N
// being where the offending object starts in its stream. They report an o that is no
// data.frame list, columns without names, list, matrix (dim), classed (Date, POSIXct...)
// or other unsupported columns, factor codes outside their levels, and columns of
// another length than the row names.
func RDataFrame(o *RObject, name string) (*RFrame, error) {
	fail := func(at *RObject, format string, args ...any) error {
		return fmt.Errorf("data: rdata: %s: byte %d: %s", name, at.at, fmt.Sprintf(format, args...))
	}
	if o.Type != RList || !o.Inherits("data.frame") {
		class := "no class"
		if c := o.Class(); c != nil {
			class = "class " + strings.Join(c, "/")
		}
		return nil, fail(o, "an R object of %s with %s, want a data.frame", rTypeName(int(o.Type)), class)
	}
	names := o.Names()
	if len(names) != len(o.Items) {
		return nil, fail(o, "data frame of %d columns with %d names", len(o.Items), len(names))
	}
	f := &RFrame{Rows: -1}
	if rn := o.Attr("row.names"); rn != nil {
		switch {
		case rn.Type == RInt && len(rn.Ints) == 2 && rn.Ints[0] == RNAInt && rn.Ints[1] != RNAInt:
			f.Rows = int(rn.Ints[1])
			if f.Rows < 0 {
				f.Rows = -f.Rows
			}
		case rn.Type == RInt || rn.Type == RString:
			f.Rows = rn.Len()
		default:
			return nil, fail(rn, "row.names are an R object of %s, want integers or strings", rTypeName(int(rn.Type)))
		}
	}
	for i, c := range o.Items {
		col := RColumn{Name: names[i], Type: c.Type}
		what := fmt.Sprintf("column %d (%q)", i+1, names[i])
		if c.Attr("dim") != nil {
			return nil, fail(c, "%s has a dim attribute (a matrix column); the reader takes vectors and factors", what)
		}
		class := c.Class()
		switch c.Type {
		case RInt, RLogical:
			col.Ints = c.Ints
		case RReal:
			col.Reals = c.Reals
		case RString:
			col.Strings, col.StringNA = c.Strings, c.StringNA
		default:
			return nil, fail(c, "%s is an R object of %s; the reader takes integer, logical, double and character vectors and factors", what, rTypeName(int(c.Type)))
		}
		switch {
		case class == nil:
		case c.Type == RInt && c.Inherits("factor") && (len(class) == 1 || len(class) == 2 && class[0] == "ordered" && class[1] == "factor"):
			lv := c.Attr("levels")
			if lv == nil || lv.Type != RString || lv.StringNA != nil {
				return nil, fail(c, "%s is a factor without character levels", what)
			}
			col.Levels, col.Ordered = lv.Strings, len(class) == 2
			if col.Levels == nil {
				col.Levels = []string{}
			}
			for r, v := range c.Ints {
				if v != RNAInt && (v < 1 || int(v) > len(col.Levels)) {
					return nil, fail(c, "%s: row %d has factor code %d, outside the %d levels", what, r+1, v, len(col.Levels))
				}
			}
		default:
			return nil, fail(c, "%s has class %s; the reader takes plain vectors and factors", what, strings.Join(class, "/"))
		}
		if f.Rows < 0 {
			f.Rows = c.Len()
		}
		if c.Len() != f.Rows {
			return nil, fail(c, "%s has %d values, but the data frame has %d rows", what, c.Len(), f.Rows)
		}
		f.Columns = append(f.Columns, col)
	}
	f.Rows = max(f.Rows, 0)
	return f, nil
}

// WriteCSV writes f as CSV: a header of the column names, then one line per row of the
// cells RColumn.Cell gives, each line ending in LF. A cell is quoted (in double quotes,
// its quotes doubled) only where it holds a comma, a quote or a line break, starts with a
// space, or is the empty only cell of a line (which would otherwise be a blank line), so
// that a frame of numbers and plain labels reads as R's write.csv(row.names = FALSE,
// quote = FALSE) writes it.
func (f *RFrame) WriteCSV(w io.Writer) error {
	bw := bufio.NewWriter(w)
	line := func(cell func(j int) string) {
		for j := range f.Columns {
			if j > 0 {
				bw.WriteByte(',')
			}
			c := cell(j)
			if strings.ContainsAny(c, ",\"\r\n") || strings.HasPrefix(c, " ") || strings.HasPrefix(c, "\t") || (c == "" && len(f.Columns) == 1) {
				c = `"` + strings.ReplaceAll(c, `"`, `""`) + `"`
			}
			bw.WriteString(c)
		}
		bw.WriteByte('\n')
	}
	line(func(j int) string { return f.Columns[j].Name })
	for i := range f.Rows {
		line(func(j int) string { return f.Columns[j].Cell(i) })
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("data: rdata: writing CSV: %w", err)
	}
	return nil
}

// quoteNames joins names for errors: "a", "b", "c".
func quoteNames(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}
