package data_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gputrain/gputrain/train/data"
)

// ReadCSV finds the header, the label column and the classes; its errors name the
// line and column.
func ExampleReadCSV() {
	tab, err := data.ReadCSV(strings.NewReader(`length,width,species
5.1,3.5,0
7.0,3.2,1
6.3,3.3,2
`), "flowers.csv", data.CSVOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tab.N, "rows of", tab.Columns, "labelled by", tab.Label, "in", tab.Classes(), "classes")
	fmt.Println(tab.Features, tab.Labels)

	_, err = data.ReadCSV(strings.NewReader("length,width,species\n5.1,3.5,0\n7.0,wide,1\n"), "flowers.csv", data.CSVOptions{})
	fmt.Println(err)
	// Output:
	// 3 rows of [length width] labelled by species in 3 classes
	// [5.1 3.5 7 3.2 6.3 3.3] [0 1 2]
	// data: csv: flowers.csv:3: column 2 ("width"): "wide" is not a number
}

// Load gives every data set in one form: training and test Examples. A CSV file without
// a test file has a tenth of its rows, drawn with the seed, held out for testing.
func ExampleLoad() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "points.csv")
	var rows strings.Builder
	rows.WriteString("label,x,y\n")
	for i := range 40 {
		fmt.Fprintf(&rows, "%d,%d,%d\n", i%2, i, -i)
	}
	if err := os.WriteFile(path, []byte(rows.String()), 0o644); err != nil {
		fmt.Println(err)
		return
	}
	set, err := data.Load("csv:"+path+":label=label", data.LoadOptions{Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("train", set.Train.X.Shape(), set.Train.X.Dtype(), "test", set.Test.X.Shape(), "classes", set.Classes)
	// Output:
	// train (36, 2) float32 test (4, 2) classes 2
}
