package train_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/train"
)

// sampleHistory is a classification history with awkward numbers: the first epoch
// without validation, values that need all 17 digits.
func sampleHistory() *train.History {
	return &train.History{Loss: "sparse_categorical_crossentropy", Classifies: true, Epochs: []train.EpochStats{
		{Epoch: 1, Loss: 1.2345678901234567, Accuracy: 0.5, Examples: 100, Seconds: 0.25, TrainSeconds: 0.2,
			SamplesPerSecond: 400, LearningRate: 0.0010000000474974513},
		{Epoch: 2, Loss: 0.1 + 0.2, Accuracy: 0.875, HasValidation: true, ValLoss: 0.4567, ValAccuracy: 0.8125,
			Examples: 100, Seconds: 1e-3, TrainSeconds: 5e-4, SamplesPerSecond: 1e5, LearningRate: 5e-4},
	}}
}

func TestHistoryJSONRoundTrip(t *testing.T) {
	h := sampleHistory()
	var buf bytes.Buffer
	require.NoError(t, h.WriteJSON(&buf))
	got, err := train.ReadHistoryJSON(&buf)
	require.NoError(t, err)
	assert.Equal(t, h, got)

	// A real Fit's history too.
	tr := newTrainer(cpu.New(cpu.Options{}), train.NewAdam(), 1)
	fit, err := tr.Fit(blobs(1, 60, 4, 3), train.Config{Epochs: 2, ValidationSplit: 0.25})
	require.NoError(t, err)
	buf.Reset()
	require.NoError(t, fit.WriteJSON(&buf))
	assert.Contains(t, buf.String(), `"val_accuracy": `)
	got, err = train.ReadHistoryJSON(&buf)
	require.NoError(t, err)
	assert.Equal(t, fit, got)
}

func TestHistoryJSONErrors(t *testing.T) {
	h := sampleHistory()
	h.Epochs[1].ValLoss = math.Inf(1)
	assert.ErrorContains(t, h.WriteJSON(io.Discard), "epoch 2 val_loss is +Inf, which JSON cannot hold")
	for _, c := range []struct{ in, want string }{
		{`{"epochs": [`, "history JSON: unexpected EOF"},
		{`[1, 2]`, "history JSON: json: cannot unmarshal array"},
		{`{"epochs": []} {}`, "data after the history object"},
		{`{"epochs": [{"epoch": 1}, {"epoch": 3}]}`, "entry 1 is epoch 3, want consecutive epochs"},
		{`{"epochs": [{"epoch": 0}]}`, "entry 0 is epoch 0"},
		{`{"epochs": [{"epoch": 1, "loss": "x"}]}`, "cannot unmarshal string"},
	} {
		_, err := train.ReadHistoryJSON(strings.NewReader(c.in))
		assert.ErrorContains(t, err, c.want, c.in)
	}
}

func TestHistoryCSV(t *testing.T) {
	h := sampleHistory()
	h.Epochs[0].Loss = math.NaN() // CSV holds what JSON cannot
	var buf bytes.Buffer
	require.NoError(t, h.WriteCSV(&buf))
	rows, err := csv.NewReader(&buf).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 3)
	assert.Equal(t, []string{"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "seconds"}, rows[0])
	assert.Equal(t, []string{"1", "NaN", "0.5", "", "", "0.0010000000474974513", "0.25"}, rows[1], "no validation: empty cells")
	// Every number reads back exactly.
	e := h.Epochs[1]
	want := []float64{2, e.Loss, e.Accuracy, e.ValLoss, e.ValAccuracy, e.LearningRate, e.Seconds}
	for i, cell := range rows[2] {
		v, err := strconv.ParseFloat(cell, 64)
		require.NoError(t, err, "column %s", rows[0][i])
		assert.Equal(t, want[i], v, "column %s", rows[0][i])
	}

	// A regression history has no accuracy to write.
	reg := &train.History{Loss: "mse", Epochs: []train.EpochStats{{Epoch: 1, Loss: 0.5, HasValidation: true, ValLoss: 0.75, LearningRate: 0.01, Seconds: 2}}}
	buf.Reset()
	require.NoError(t, reg.WriteCSV(&buf))
	assert.Equal(t, "epoch,loss,accuracy,val_loss,val_accuracy,learning_rate,seconds\n1,0.5,,0.75,,0.01,2\n", buf.String())
}

func TestHistorySaveIsAtomicAndByExtension(t *testing.T) {
	dir := t.TempDir()
	h := sampleHistory()
	jsonPath, csvPath := filepath.Join(dir, "h.json"), filepath.Join(dir, "h.CSV")
	require.NoError(t, h.Save(jsonPath))
	require.NoError(t, h.Save(csvPath))
	got, err := train.LoadHistoryJSON(jsonPath)
	require.NoError(t, err)
	assert.Equal(t, h, got)
	b, err := os.ReadFile(csvPath)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(b), "epoch,loss,"), "an upper-case .CSV is CSV")
	fi, err := os.Stat(jsonPath)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm())

	assert.ErrorContains(t, h.Save(filepath.Join(dir, "h.txt")), `history file "`+filepath.Join(dir, "h.txt")+`": the extension must be .csv or .json`)
	assert.ErrorContains(t, h.Save(filepath.Join(dir, "missing", "h.csv")), "writing "+filepath.Join(dir, "missing", "h.csv"))

	// A failing write leaves the old file whole and no temporary file behind.
	old, err := os.ReadFile(jsonPath)
	require.NoError(t, err)
	boom := errors.New("disk full")
	err = train.WriteFileAtomic(jsonPath, func(w io.Writer) error {
		io.WriteString(w, `{"half": `)
		return boom
	})
	assert.ErrorIs(t, err, boom)
	assert.ErrorContains(t, err, "writing "+jsonPath)
	now, err := os.ReadFile(jsonPath)
	require.NoError(t, err)
	assert.Equal(t, old, now)
	// So does a history JSON cannot hold.
	bad := sampleHistory()
	bad.Epochs[0].Loss = math.NaN()
	assert.ErrorContains(t, bad.Save(jsonPath), "epoch 1 loss is NaN")
	now, _ = os.ReadFile(jsonPath)
	assert.Equal(t, old, now)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, []string{"h.json", "h.CSV"}, names, "no temporary files left")

	_, err = train.LoadHistoryJSON(csvPath)
	assert.ErrorContains(t, err, "(in "+csvPath+")")
	assert.ErrorContains(t, train.WriteFileAtomic(dir, h.WriteJSON), "is a directory")
}

// Our history files are recognised, other files of the same names are not.
func TestIsHistoryFile(t *testing.T) {
	dir := t.TempDir()
	h := &train.History{Loss: "mse", Epochs: []train.EpochStats{{Epoch: 1, Loss: 0.5}}}
	for _, name := range []string{"h.csv", "h.json"} {
		p := filepath.Join(dir, name)
		require.NoError(t, h.Save(p))
		assert.True(t, train.IsHistoryFile(p), name)
	}
	for name, content := range map[string]string{"data.csv": "x,y,label\n1,2,0\n", "cfg.json": `{"epochs": 3}`,
		"list.json": "[1, 2]", "empty.csv": "", "empty.json": "{}"} {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
		assert.False(t, train.IsHistoryFile(p), name)
	}
	assert.False(t, train.IsHistoryFile(filepath.Join(dir, "missing.csv")))
}

// Config.Metrics' figures reach the epochs, the JSON history (read back exactly) and
// the CSV history as one column per metric name, sorted after the standard columns; an
// epoch without a metric leaves its cell empty; a non-finite metric cannot go to JSON.
func TestHistoryMetrics(t *testing.T) {
	tr := newTrainer(cpu.New(cpu.Options{}), train.NewAdam(), 1)
	calls := 0
	fit, err := tr.Fit(blobs(1, 60, 4, 3), train.Config{Epochs: 2, ValidationSplit: 0.25,
		Metrics: func(m *nn.Model) (map[string]float64, error) {
			calls++
			require.NotNil(t, m)
			return map[string]float64{"val_rmse": 1.5 / float64(calls), "val_hr@10": 0.25 * float64(calls)}, nil
		}})
	require.NoError(t, err)
	assert.Equal(t, map[string]float64{"val_rmse": 1.5, "val_hr@10": 0.25}, fit.Epochs[0].Metrics)
	assert.Equal(t, []string{"val_hr@10", "val_rmse"}, fit.MetricNames())
	var buf bytes.Buffer
	require.NoError(t, fit.WriteJSON(&buf))
	got, err := train.ReadHistoryJSON(&buf)
	require.NoError(t, err)
	assert.Equal(t, fit, got)

	fit.Epochs[1].Metrics = map[string]float64{"val_rmse": 0.75}
	buf.Reset()
	require.NoError(t, fit.WriteCSV(&buf))
	rows, err := csv.NewReader(&buf).ReadAll()
	require.NoError(t, err)
	assert.Equal(t, append(append([]string(nil), train.HistoryCSVColumns...), "val_hr@10", "val_rmse"), rows[0])
	assert.Equal(t, []string{"0.25", "1.5"}, rows[1][len(train.HistoryCSVColumns):])
	assert.Equal(t, []string{"", "0.75"}, rows[2][len(train.HistoryCSVColumns):])

	fit.Epochs[1].Metrics["val_rmse"] = math.NaN()
	assert.ErrorContains(t, fit.WriteJSON(io.Discard), "epoch 2 metric val_rmse is NaN")
	_, err = tr.Fit(blobs(1, 60, 4, 3), train.Config{Epochs: 1, Metrics: func(*nn.Model) (map[string]float64, error) {
		return nil, errors.New("no negatives")
	}})
	assert.ErrorContains(t, err, "train: epoch 1 metrics: no negatives")
}
