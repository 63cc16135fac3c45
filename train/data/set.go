package data

import (
	"fmt"
	"strings"

	"gorgonia.org/tensor"
)

// Examples is one split of a data set as host arrays, the form a trainer takes: X of
// shape (N, example shape…) holding Uint8 pixel bytes or Float32 values, and Y of shape
// (N) holding Int32 class labels.
type Examples struct {
	X, Y *tensor.Dense
}

// Len is the number of examples.
func (e Examples) Len() int {
	if e.X == nil || len(e.X.Shape()) == 0 {
		return 0
	}
	return e.X.Shape()[0]
}

// Shape is the per-example shape: X's shape without its first dimension.
func (e Examples) Shape() []int {
	if e.X == nil || len(e.X.Shape()) == 0 {
		return nil
	}
	return append([]int(nil), e.X.Shape()[1:]...)
}

// Head returns the first n examples (all of them when n is larger), sharing e's memory.
// n must be positive.
func (e Examples) Head(n int) (Examples, error) {
	if n <= 0 {
		return Examples{}, fmt.Errorf("data: cannot take %d examples (want at least 1)", n)
	}
	if n >= e.Len() {
		return e, nil
	}
	x, err := rows(e.X, n)
	if err != nil {
		return Examples{}, err
	}
	y, err := rows(e.Y, n)
	if err != nil {
		return Examples{}, err
	}
	return Examples{X: x, Y: y}, nil
}

// RowSequence views images of shape (1, H, W) as sequences of H steps of W pixels,
// shape (H, W), sharing e's memory: how a sequence model reads MNIST, 28 steps of 28
// pixels, row by row from the top. The error reports examples of another shape.
func (e Examples) RowSequence() (Examples, error) {
	s := e.Shape()
	if len(s) != 3 || s[0] != 1 {
		return Examples{}, fmt.Errorf("data: row sequences are made of images of shape (1, H, W), got examples of shape %v", s)
	}
	return e.Reshape(s[1], s[2])
}

// Reshape returns the examples with the per-example shape per, sharing e's memory; per
// must hold as many values as an example has ("data: cannot view examples of shape
// (1, 28, 28), 784 values, as (10)").
func (e Examples) Reshape(per ...int) (Examples, error) {
	have, want := 1, 1
	for _, d := range e.Shape() {
		have *= d
	}
	for _, d := range per {
		if d <= 0 {
			return Examples{}, fmt.Errorf("data: cannot view examples as %v: dimensions must be positive", per)
		}
		want *= d
	}
	if have != want || len(per) == 0 {
		return Examples{}, fmt.Errorf("data: cannot view examples of shape %v, %d values, as %v, %d values", e.Shape(), have, per, want)
	}
	x := tensor.New(tensor.WithShape(append([]int{e.Len()}, per...)...), tensor.WithBacking(e.X.Data()))
	return Examples{X: x, Y: e.Y}, nil
}

// rows returns the first n rows of d (not a view: a new array over the same backing).
func rows(d *tensor.Dense, n int) (*tensor.Dense, error) {
	shape := append([]int{n}, d.Shape()[1:]...)
	per := 1
	for _, s := range d.Shape()[1:] {
		per *= s
	}
	switch v := d.Data().(type) {
	case []uint8:
		return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(v[:n*per:n*per])), nil
	case []float32:
		return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(v[:n*per:n*per])), nil
	case []int32:
		return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(v[:n*per:n*per])), nil
	}
	return nil, fmt.Errorf("data: cannot cut arrays of %v", d.Dtype())
}

// Set is a labelled data set ready for training: a training and a test split whose
// examples have one shape, and the number of classes their labels range over. Every
// source (IDX image files, CSV tables) loads into one.
type Set struct {
	// Name is "mnist", "fashion-mnist" or "csv:FILE".
	Name string
	// Train and Test are the splits; their examples have the same shape: (1, H, W)
	// uint8 images for the IDX data sets, (F) float32 features for CSV tables.
	Train, Test Examples
	// Classes is the number of classes; every label is below it.
	Classes int
	// Mirror reports whether a left-right mirror image of an example is an example of
	// the same class, so that augmentation may flip images: true for Fashion-MNIST
	// (clothes), false for digits (a mirrored 2 is no digit) and for tables.
	Mirror bool
	// About says where the splits came from, in words, for logs.
	About string
}

// Set converts an image data set to a Set: X of shape (N, 1, H, W) and type Uint8,
// sharing d's image bytes, and Y of Int32 labels. The error reports a split that fails
// Validate or is empty.
func (d *Dataset) Set() (*Set, error) {
	s := &Set{Name: d.Name, Classes: d.Classes, Mirror: d.Name == "fashion-mnist",
		About: fmt.Sprintf("%d×%d images, %d classes", d.Train.H, d.Train.W, d.Classes)}
	for _, p := range []struct {
		split Split
		out   *Examples
	}{{d.Train, &s.Train}, {d.Test, &s.Test}} {
		x, y, err := p.split.Dense()
		if err != nil {
			return nil, err
		}
		x = tensor.New(tensor.WithShape(p.split.N, 1, p.split.H, p.split.W), tensor.WithBacking(x.Data()))
		*p.out = Examples{X: x, Y: y}
	}
	return s, nil
}

// LoadOptions configure Load.
type LoadOptions struct {
	// Dir is the folder of the IDX files of mnist and fashion-mnist; "" means
	// DefaultMNISTDir or DefaultFashionMNISTDir.
	Dir string
	// Seed orders the rows of a CSV file before its test rows are held out.
	Seed uint64
}

// DefaultMNISTDir is where the repository's `make data` puts MNIST, relative to the
// repository root.
const DefaultMNISTDir = "data/mnist"

// CSVTestFraction is the part of a CSV file held out as the test set when no test file
// is named.
const CSVTestFraction = 0.1

// Load reads the data set that name describes:
//
//	mnist                            MNIST from o.Dir (LoadMNIST)
//	fashion-mnist                    Fashion-MNIST from o.Dir (LoadFashionMNIST)
//	csv:FILE[:label=COL][:test=FILE] a CSV table (LoadCSV); label= selects the label
//	                                 column (CSVOptions.Label), test= a test file
//
// Without a test file, the rows of the CSV file are put in an order drawn from o.Seed
// (files are often sorted by class) and the last CSVTestFraction of them, at least one,
// is the test set. With one, the training rows are put in that order too, so that a
// validation split from their end is a random sample, and the test file is read as it
// is, with the same label column; its features must be as many. Classes is the largest
// label of either part plus one and must be at least 2.
//
// Errors start "data: " and name the set, the file and the offending value.
func Load(name string, o LoadOptions) (*Set, error) {
	switch {
	case name == "mnist" || name == "fashion-mnist":
		dir := o.Dir
		load := LoadMNIST
		if name == "fashion-mnist" {
			load = LoadFashionMNIST
		}
		if dir == "" {
			dir = DefaultMNISTDir
			if name == "fashion-mnist" {
				dir = DefaultFashionMNISTDir
			}
		}
		d, err := load(dir)
		if err != nil {
			return nil, err
		}
		set, err := d.Set()
		if err != nil {
			return nil, err
		}
		set.About += " from " + dir
		return set, nil
	case strings.HasPrefix(name, "csv:"):
		return loadCSVSet(name, o.Seed)
	case name == "insteval" || strings.HasPrefix(name, "ratings:"):
		return nil, fmt.Errorf("data: %s is a ratings data set (users, items, ratings), not labelled examples: read it with LoadRatings", name)
	case strings.HasPrefix(name, "text:"):
		return nil, fmt.Errorf("data: %s is a text for a sequence model, not labelled examples: read it with LoadText", name)
	}
	return nil, fmt.Errorf("data: unknown data set %q (want mnist, fashion-mnist or csv:FILE)", name)
}

// parseCSVName splits "csv:FILE[:label=COL][:test=FILE]" into its parts; the options
// are read from the end, so that FILE may hold colons.
func parseCSVName(name string) (path, label, test string, err error) {
	rest := strings.TrimPrefix(name, "csv:")
	seen := map[string]bool{}
	for {
		i := strings.LastIndexByte(rest, ':')
		if i < 0 {
			break
		}
		key, val, ok := strings.Cut(rest[i+1:], "=")
		if !ok || (key != "label" && key != "test") {
			break
		}
		if seen[key] {
			return "", "", "", fmt.Errorf("data: %s: option %s= given twice", name, key)
		}
		seen[key] = true
		if key == "label" {
			label = val
		} else {
			test = val
		}
		if val == "" {
			return "", "", "", fmt.Errorf("data: %s: option %s= has no value", name, key)
		}
		rest = rest[:i]
	}
	if rest == "" {
		return "", "", "", fmt.Errorf("data: %s: no file name (want csv:FILE[:label=COL][:test=FILE])", name)
	}
	return rest, label, test, nil
}

// loadCSVSet reads the table(s) of a csv: name; see Load.
func loadCSVSet(name string, seed uint64) (*Set, error) {
	path, label, testPath, err := parseCSVName(name)
	if err != nil {
		return nil, err
	}
	opts := CSVOptions{Label: label}
	all, err := LoadCSV(path, opts)
	if err != nil {
		return nil, err
	}
	train := all.Shuffled(seed)
	var test *Table
	about := ""
	if testPath == "" {
		if all.N < 2 {
			return nil, fmt.Errorf("data: csv: %s: %d row, too few to hold out a test set (give a test file: csv:%s:test=FILE)", path, all.N, path)
		}
		at := min(int(float64(all.N)*(1-CSVTestFraction)), all.N-1)
		idx := make([]int, all.N)
		for i := range idx {
			idx[i] = i
		}
		test = train.Rows(idx[at:])
		train = train.Rows(idx[:at])
		about = fmt.Sprintf("%d rows of %d features, label column %s; %d held out for testing (%.0f%%, drawn with seed %d)",
			all.N, all.F, all.Label, test.N, 100*CSVTestFraction, seed)
	} else {
		if test, err = LoadCSV(testPath, opts); err != nil {
			return nil, err
		}
		if test.F != all.F {
			return nil, fmt.Errorf("data: csv: %s has %d features but %s has %d", testPath, test.F, path, all.F)
		}
		about = fmt.Sprintf("%d training rows of %d features, label column %s; %d test rows from %s", all.N, all.F, all.Label, test.N, testPath)
	}
	classes := max(train.Classes(), test.Classes())
	if classes < 2 {
		return nil, fmt.Errorf("data: csv: %s: every label is 0; a classifier needs at least 2 classes", path)
	}
	s := &Set{Name: "csv:" + path, Classes: classes, About: about}
	if s.Train, err = train.Examples(); err != nil {
		return nil, err
	}
	if s.Test, err = test.Examples(); err != nil {
		return nil, err
	}
	return s, nil
}
