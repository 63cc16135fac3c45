// Command recsplit writes a ratings data set's split and ranking lists as gputrain makes
// them, for bench/recsys_twin.py (the PyTorch twin of the mf preset) to train and
// measure on exactly the same data:
//
//	go run ./bench/recsplit [-dataset insteval] [-seed 1] -out DIR
//
// DIR/train.csv, val.csv, test.csv hold "user,item,rating" rows with the dense ids
// (data.Ratings.Split by -seed); DIR/val_lists.csv and test_lists.csv hold
// "list,user,item" rows, each list a user's positive then its sampled negatives
// (recsys.Evaluator, seeded as cmd/gputrain seeds it); DIR/meta.json the table sizes
// and the training mean.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gputrain/gputrain/train/data"
	"github.com/gputrain/gputrain/train/recsys"
)

func main() {
	dataset := flag.String("dataset", "insteval", "ratings data set (insteval or ratings:FILE[:…])")
	seed := flag.Uint64("seed", 1, "the split's seed (gputrain's -seed)")
	out := flag.String("out", "", "folder to write into (required)")
	flag.Parse()
	if err := run(*dataset, *seed, *out); err != nil {
		fmt.Fprintf(os.Stderr, "recsplit: %v\n", err)
		os.Exit(1)
	}
}

func run(dataset string, seed uint64, out string) error {
	if out == "" {
		return fmt.Errorf("-out DIR is required")
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	all, err := data.LoadRatings(dataset)
	if err != nil {
		return err
	}
	tr, va, te := all.Split(seed)
	for name, part := range map[string]*data.Ratings{"train": tr, "val": va, "test": te} {
		if err := write(filepath.Join(out, name+".csv"), "user,item,rating", func(w *bufio.Writer) {
			for r := range part.N {
				fmt.Fprintf(w, "%d,%d,%g\n", part.Users[r], part.Items[r], part.Values[r])
			}
		}); err != nil {
			return err
		}
	}
	vs, ts := recsys.PartSeeds(seed) // as cmd/gputrain seeds them
	for name, c := range map[string]struct {
		part *data.Ratings
		seed uint64
	}{"val": {va, vs}, "test": {te, ts}} {
		e, err := recsys.NewEvaluator(all, c.part, recsys.DefaultNegatives, recsys.DefaultK, c.seed)
		if err != nil {
			return err
		}
		users, items, starts := e.RankingLists()
		if err := write(filepath.Join(out, name+"_lists.csv"), "list,user,item", func(w *bufio.Writer) {
			for k, lo := range starts {
				hi := len(users)
				if k+1 < len(starts) {
					hi = starts[k+1]
				}
				for j := lo; j < hi; j++ {
					fmt.Fprintf(w, "%d,%d,%d\n", k, users[j], items[j])
				}
			}
		}); err != nil {
			return err
		}
	}
	meta, err := json.Marshal(map[string]any{"dataset": all.Name, "seed": seed, "users": all.NumUsers(), "items": all.NumItems(),
		"train_mean": tr.Mean(), "k": recsys.DefaultK, "negatives": recsys.DefaultNegatives})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "meta.json"), meta, 0o644)
}

func write(path, header string, rows func(*bufio.Writer)) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, header)
	rows(w)
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
