package data

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
)

// Ratings is a table of ratings, the data of a recommender: row r says that user
// Users[r] gave item Items[r] the rating Values[r]. Users and items are dense ids,
// numbered in the order they first appear in the file; UserIDs and ItemIDs give back
// the file's own ids. The other columns of the file are side fields, categorical too.
//
// The parts Split makes share the id tables of the whole set: NumUsers and NumItems
// count every user and item of the file, so an embedding table sized by them covers
// every part.
type Ratings struct {
	// Name is "insteval" or "ratings:FILE".
	Name string
	// N is the number of ratings (rows).
	N int
	// Users and Items hold the N dense user and item ids, in [0, NumUsers()) and
	// [0, NumItems()).
	Users, Items []int32
	// Values holds the N ratings.
	Values []float32
	// UserIDs[u] and ItemIDs[i] are the file's ids of dense user u and item i.
	UserIDs, ItemIDs []string
	// UserColumn, ItemColumn and RatingColumn name the columns read (the header's names,
	// or "column 1"... without a header).
	UserColumn, ItemColumn, RatingColumn string
	// Side holds the other columns, in file order.
	Side []SideField
}

// SideField is one side column of a Ratings table, categorical: row r has the value
// Levels[Codes[r]], the levels numbered in the order they first appear in the file.
type SideField struct {
	Name   string
	Codes  []int32
	Levels []string
}

// NumUsers is the number of distinct users of the whole file.
func (r *Ratings) NumUsers() int { return len(r.UserIDs) }

// NumItems is the number of distinct items of the whole file.
func (r *Ratings) NumItems() int { return len(r.ItemIDs) }

// Range returns the smallest and largest rating (0, 0 for an empty table).
func (r *Ratings) Range() (lo, hi float32) {
	if len(r.Values) == 0 {
		return 0, 0
	}
	lo, hi = r.Values[0], r.Values[0]
	for _, v := range r.Values {
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}

// Mean returns the mean rating (0 for an empty table), accumulated in float64.
func (r *Ratings) Mean() float64 {
	if len(r.Values) == 0 {
		return 0
	}
	s := 0.0
	for _, v := range r.Values {
		s += float64(v)
	}
	return s / float64(len(r.Values))
}

// Rows returns the ratings at the given row indices, in that order, as a new table that
// shares r's id tables and side-field levels.
func (r *Ratings) Rows(idx []int) *Ratings {
	out := *r
	out.N = len(idx)
	out.Users, out.Items, out.Values = make([]int32, len(idx)), make([]int32, len(idx)), make([]float32, len(idx))
	out.Side = make([]SideField, len(r.Side))
	for j, f := range r.Side {
		out.Side[j] = SideField{Name: f.Name, Levels: f.Levels, Codes: make([]int32, len(idx))}
	}
	for k, i := range idx {
		out.Users[k], out.Items[k], out.Values[k] = r.Users[i], r.Items[i], r.Values[i]
		for j, f := range r.Side {
			out.Side[j].Codes[k] = f.Codes[i]
		}
	}
	return &out
}

// RatingsTrainFraction and RatingsValFraction are the parts of a Ratings table Split
// gives to training and validation; the rest (10%) is the test set.
const (
	RatingsTrainFraction = 0.8
	RatingsValFraction   = 0.1
)

// Split puts the rows in an order drawn from seed (the same seed, the same order) and
// cuts it into a training part of floor(0.8 N) rows, a validation part of floor(0.1 N)
// and a test part of the rest, each a new table sharing r's id tables.
func (r *Ratings) Split(seed uint64) (train, val, test *Ratings) {
	perm := rand.New(rand.NewPCG(seed, 0x7261746e5f73706c)).Perm(r.N)
	nTrain := int(float64(r.N) * RatingsTrainFraction)
	nVal := int(float64(r.N) * RatingsValFraction)
	return r.Rows(perm[:nTrain]), r.Rows(perm[nTrain : nTrain+nVal]), r.Rows(perm[nTrain+nVal:])
}

// Gather copies the user ids, item ids and ratings of the given rows into users, items
// and values (each of len(rows)), allocating nothing: a training step's batch. The error
// reports slices of other lengths or a row outside [0, N).
func (r *Ratings) Gather(rows []int, users, items []int32, values []float32) error {
	if len(users) != len(rows) || len(items) != len(rows) || len(values) != len(rows) {
		return fmt.Errorf("data: ratings: gather %d rows into %d users, %d items, %d values", len(rows), len(users), len(items), len(values))
	}
	for k, i := range rows {
		if i < 0 || i >= r.N {
			return fmt.Errorf("data: ratings: row %d outside [0, %d)", i, r.N)
		}
		users[k], items[k], values[k] = r.Users[i], r.Items[i], r.Values[i]
	}
	return nil
}

// RatingsOptions select the columns of a ratings CSV file. Each is "" for its default
// (user the first column, item the second, rating the third), a 1-based column number
// (negative ones count from the end), or a header name.
type RatingsOptions struct {
	User, Item, Rating string
}

// LoadRatingsCSV reads a ratings CSV file (see ReadRatingsCSV); errors name the file.
func LoadRatingsCSV(path string, o RatingsOptions) (*Ratings, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: ratings: %w", err)
	}
	defer f.Close()
	return ReadRatingsCSV(f, path, o)
}

// ReadRatingsCSV reads a table of ratings from r: one row per rating, with a user id,
// an item id and a rating column (RatingsOptions) and any number of side columns; name
// (the file name) prefixes errors and makes the table's Name, "ratings:NAME". Cells are
// separated by commas, may be quoted and may have spaces around them; blank lines and a
// UTF-8 byte-order mark are skipped.
//
// The first row is a header when a column option is a name, or else when its rating
// cell is not a number. Ids and side values are any non-empty text; ratings must be
// finite numbers in float32's range.
//
// Errors start "data: ratings: NAME:LINE: " (1-based lines) and name the column by its
// number and header name: a file without data rows, fewer than 3 columns, an option
// naming no column or the same column as another, rows with another number of cells
// than the first, empty ids, and ratings that are not finite numbers.
func ReadRatingsCSV(r io.Reader, name string, o RatingsOptions) (*Ratings, error) {
	rows := newCSVRows(r, "data: ratings: "+name)
	fail, read := rows.errorf, rows.next
	rec, line, err := read()
	if err == io.EOF {
		return nil, fmt.Errorf("data: ratings: %s: empty file", name)
	}
	if err != nil {
		return nil, err
	}
	cols, firstLine := len(rec), line
	if cols < 3 {
		return nil, fail(line, "%d columns; want a user, an item and a rating column", cols)
	}
	first := make([]string, cols)
	for i, c := range rec {
		first[i] = strings.TrimSpace(c)
	}
	// The first row is a header if an option names a column, or else if its rating
	// cell is no number.
	named := false
	for _, opt := range []string{o.User, o.Item, o.Rating} {
		if _, err := strconv.Atoi(strings.TrimSpace(opt)); err != nil && strings.TrimSpace(opt) != "" {
			named = true
		}
	}
	var header []string
	if named {
		header = first
	} else {
		ratingCol, err := csvColumn("rating", o.Rating, nil, cols, 2)
		if err != nil {
			return nil, fail(line, "%v", err)
		}
		if _, err := strconv.ParseFloat(first[ratingCol], 64); err != nil {
			header = first
		}
	}
	var idx [3]int
	for k, c := range []struct{ role, opt string }{{"user", o.User}, {"item", o.Item}, {"rating", o.Rating}} {
		if idx[k], err = csvColumn(c.role, c.opt, header, cols, k); err != nil {
			return nil, fail(line, "%v", err)
		}
	}
	if idx[0] == idx[1] || idx[0] == idx[2] || idx[1] == idx[2] {
		return nil, fail(line, "the user, item and rating columns must differ, got columns %d, %d and %d", idx[0]+1, idx[1]+1, idx[2]+1)
	}
	colName := func(i int) string { return csvColumnName(header, i) }
	cell := func(i int) string { return csvCellName(header, i) }
	t := &Ratings{Name: "ratings:" + name, UserColumn: colName(idx[0]), ItemColumn: colName(idx[1]), RatingColumn: colName(idx[2])}
	// Each categorical column (users, items, side fields) numbers its values densely.
	type coder struct {
		col   int
		codes map[string]int32
		ids   *[]string
		out   *[]int32
	}
	var coders []*coder
	coders = append(coders, &coder{col: idx[0], codes: map[string]int32{}, ids: &t.UserIDs, out: &t.Users},
		&coder{col: idx[1], codes: map[string]int32{}, ids: &t.ItemIDs, out: &t.Items})
	for i := range cols {
		if i != idx[0] && i != idx[1] && i != idx[2] {
			t.Side = append(t.Side, SideField{Name: colName(i)})
		}
	}
	for j, i := 0, 0; i < cols; i++ {
		if i != idx[0] && i != idx[1] && i != idx[2] {
			f := &t.Side[j]
			coders = append(coders, &coder{col: i, codes: map[string]int32{}, ids: &f.Levels, out: &f.Codes})
			j++
		}
	}
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
		for _, c := range coders {
			v := strings.TrimSpace(rec[c.col])
			if v == "" {
				return nil, fail(rows.line(c.col), "%s: empty cell", cell(c.col))
			}
			code, ok := c.codes[v]
			if !ok {
				if len(*c.ids) >= math.MaxInt32 {
					return nil, fail(rows.line(c.col), "%s: more than %d distinct values", cell(c.col), math.MaxInt32)
				}
				code = int32(len(*c.ids))
				c.codes[v] = code
				*c.ids = append(*c.ids, v)
			}
			*c.out = append(*c.out, code)
		}
		v, bad := csvFloat(rec[idx[2]])
		if bad != "" {
			if strings.TrimSpace(rec[idx[2]]) != "" {
				bad = "rating " + bad // `rating "five" is not a number`
			}
			return nil, fail(rows.line(idx[2]), "%s: %s", cell(idx[2]), bad)
		}
		t.Values = append(t.Values, v)
		t.N++
		if rec, line, err = read(); err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
	}
	return t, nil
}

// DefaultInstEvalFile is where `make data-insteval` writes InstEval, relative to the
// repository root.
const DefaultInstEvalFile = "data/insteval/insteval.csv"

// LoadInstEval reads InstEval from the CSV file `make data-insteval` writes (path ""
// means DefaultInstEvalFile): the lecture evaluations of ETH Zürich, 73,421 ratings
// (1 to 5, column y) that 2,972 students (s) gave 1,128 lecturers (d), with the side
// fields studage, lectage, service and dept. The table's Name is "insteval". A missing
// file is an error that says to run `make data-insteval`.
func LoadInstEval(path string) (*Ratings, error) {
	if path == "" {
		path = DefaultInstEvalFile
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("data: insteval: %s not found: run `make data-insteval` (it takes InstEval from Debian's r-cran-lme4 package)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("data: insteval: %w", err)
	}
	defer f.Close()
	r, err := ReadRatingsCSV(f, path, RatingsOptions{User: "s", Item: "d", Rating: "y"})
	if err != nil {
		return nil, err
	}
	r.Name = "insteval"
	return r, nil
}

// LoadRatings reads the ratings data set that name describes:
//
//	insteval                                      InstEval from DefaultInstEvalFile (LoadInstEval)
//	ratings:FILE[:user=COL,item=COL,rating=COL]   a ratings CSV file (ReadRatingsCSV)
//
// COL is a 1-based column number or a header name; the options, each optional, come
// after the last colon, so FILE may hold colons. Errors start "data: ".
func LoadRatings(name string) (*Ratings, error) {
	switch {
	case name == "insteval":
		return LoadInstEval("")
	case strings.HasPrefix(name, "ratings:"):
		path, o, err := parseRatingsName(name)
		if err != nil {
			return nil, err
		}
		return LoadRatingsCSV(path, o)
	}
	return nil, fmt.Errorf("data: unknown ratings data set %q (want insteval or ratings:FILE[:user=COL,item=COL,rating=COL])", name)
}

// parseRatingsName splits "ratings:FILE[:user=COL,item=COL,rating=COL]" into its parts.
func parseRatingsName(name string) (string, RatingsOptions, error) {
	var o RatingsOptions
	rest := strings.TrimPrefix(name, "ratings:")
	if i := strings.LastIndexByte(rest, ':'); i >= 0 && strings.Contains(rest[i+1:], "=") {
		seen := map[string]bool{}
		for _, kv := range strings.Split(rest[i+1:], ",") {
			key, val, _ := strings.Cut(kv, "=")
			key, val = strings.TrimSpace(key), strings.TrimSpace(val)
			var dst *string
			switch key {
			case "user":
				dst = &o.User
			case "item":
				dst = &o.Item
			case "rating":
				dst = &o.Rating
			default:
				return "", o, fmt.Errorf("data: %s: unknown option %q (want user=COL, item=COL, rating=COL)", name, kv)
			}
			if seen[key] {
				return "", o, fmt.Errorf("data: %s: option %s= given twice", name, key)
			}
			if val == "" {
				return "", o, fmt.Errorf("data: %s: option %s= has no value", name, key)
			}
			seen[key], *dst = true, val
		}
		rest = rest[:i]
	}
	if rest == "" {
		return "", o, fmt.Errorf("data: %s: no file name (want ratings:FILE[:user=COL,item=COL,rating=COL])", name)
	}
	return rest, o, nil
}
