package train

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/gputrain/gputrain/internal/atomicfile"
)

// HistoryCSVColumns are the columns of History.WriteCSV, in order (Keras' CSVLogger
// names, with the epoch's seconds).
var HistoryCSVColumns = []string{"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "seconds"}

// WriteCSV writes the history as CSV: a header of HistoryCSVColumns and then, when
// epochs have Metrics, one column per metric name (sorted), then one row per epoch (a
// metric an epoch lacks is empty). Numbers are written in the shortest form that reads back exactly (NaN and
// ±Inf as Go writes them); an epoch without validation leaves val_loss and val_accuracy
// empty, and a loss that does not classify leaves the accuracy columns empty. It returns
// the writer's error.
func (h *History) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	metrics := h.MetricNames()
	if err := cw.Write(append(append([]string(nil), HistoryCSVColumns...), metrics...)); err != nil {
		return fmt.Errorf("train: history CSV: %w", err)
	}
	num := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	acc := func(v float64, present bool) string {
		if !present || !h.Classifies {
			return ""
		}
		return num(v)
	}
	for _, e := range h.Epochs {
		valLoss := ""
		if e.HasValidation {
			valLoss = num(e.ValLoss)
		}
		row := []string{strconv.Itoa(e.Epoch), num(e.Loss), acc(e.Accuracy, true), valLoss,
			acc(e.ValAccuracy, e.HasValidation), num(e.LearningRate), num(e.Seconds)}
		for _, name := range metrics {
			v, ok := e.Metrics[name]
			if ok {
				row = append(row, num(v))
			} else {
				row = append(row, "")
			}
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("train: history CSV: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("train: history CSV: %w", err)
	}
	return nil
}

// MetricNames lists the names of every epoch's Metrics, sorted, once each.
func (h *History) MetricNames() []string {
	seen := map[string]bool{}
	var names []string
	for _, e := range h.Epochs {
		for name := range e.Metrics {
			if !seen[name] {
				seen[name] = true
				names = append(names, name)
			}
		}
	}
	sort.Strings(names)
	return names
}

// WriteJSON writes the history as one indented JSON object: {"loss": name,
// "classifies": bool, "epochs": [EpochStats…]} with EpochStats' JSON names
// ("epoch", "loss", "accuracy", "val_loss", …). ReadHistoryJSON reads it back.
// JSON has no NaN or infinity: a non-finite figure is an error naming the epoch and
// the field (CSV can hold it).
func (h *History) WriteJSON(w io.Writer) error {
	for _, e := range h.Epochs {
		for _, f := range []struct {
			name string
			v    float64
		}{{"loss", e.Loss}, {"accuracy", e.Accuracy}, {"val_loss", e.ValLoss}, {"val_accuracy", e.ValAccuracy},
			{"seconds", e.Seconds}, {"train_seconds", e.TrainSeconds}, {"samples_per_second", e.SamplesPerSecond},
			{"learning_rate", e.LearningRate}} {
			if math.IsNaN(f.v) || math.IsInf(f.v, 0) {
				return fmt.Errorf("train: history JSON: epoch %d %s is %v, which JSON cannot hold (write CSV instead)", e.Epoch, f.name, f.v)
			}
		}
		for name, v := range e.Metrics {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("train: history JSON: epoch %d metric %s is %v, which JSON cannot hold (write CSV instead)", e.Epoch, name, v)
			}
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(h); err != nil {
		return fmt.Errorf("train: history JSON: %w", err)
	}
	return nil
}

// ReadHistoryJSON reads a history written by WriteJSON. It refuses input that is not
// one JSON object of that form, or epochs that are not numbered 1, 2, … in order.
func ReadHistoryJSON(r io.Reader) (*History, error) {
	dec := json.NewDecoder(r)
	var h History
	if err := dec.Decode(&h); err != nil {
		return nil, fmt.Errorf("train: history JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("train: history JSON: data after the history object")
	}
	for i, e := range h.Epochs {
		if e.Epoch != h.Epochs[0].Epoch+i || e.Epoch < 1 {
			return nil, fmt.Errorf("train: history JSON: entry %d is epoch %d, want consecutive epochs from 1 or later", i, e.Epoch)
		}
	}
	return &h, nil
}

// Save writes the history to path, as CSV or JSON by the extension (".csv", ".json",
// any case), atomically (WriteFileAtomic): a reader sees the old file or the whole new
// one. Another extension is an error naming it.
func (h *History) Save(path string) error {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return WriteFileAtomic(path, h.WriteCSV)
	case ".json":
		return WriteFileAtomic(path, h.WriteJSON)
	}
	return fmt.Errorf("train: history file %q: the extension must be .csv or .json", path)
}

// LoadHistoryJSON reads a history file written by Save with a .json extension.
func LoadHistoryJSON(path string) (*History, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	defer f.Close()
	h, err := ReadHistoryJSON(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return h, nil
}

// WriteFileAtomic writes a file through write, atomically (internal/atomicfile): path
// holds either its old content or the whole new one, never a part, and on any error it
// is left as it was. write's error comes back wrapped with path.
func WriteFileAtomic(path string, write func(io.Writer) error) error {
	if err := atomicfile.Write(path, write); err != nil {
		return fmt.Errorf("train: writing %s: %w", path, err)
	}
	return nil
}

// IsHistoryFile reports whether the file at path is a history Save wrote: a CSV file
// whose first line is the header of HistoryCSVColumns, or a JSON file that
// ReadHistoryJSON reads (with its loss named), so that a program can tell its own history file from another
// before it replaces it.
func IsHistoryFile(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	r := bufio.NewReader(f)
	if strings.ToLower(filepath.Ext(path)) == ".json" {
		h, err := ReadHistoryJSON(r)
		return err == nil && h.Loss != ""
	}
	line, err := r.ReadString('\n')
	return (err == nil || err == io.EOF) && strings.TrimRight(line, "\r\n") == strings.Join(HistoryCSVColumns, ",")
}
