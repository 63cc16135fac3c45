package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/train"
	"github.com/gputrain/gputrain/train/tensorboard"
)

func TestConvenienceFlagErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-plot", filepath.Join(dir, "p.jpg")}, `-plot "` + filepath.Join(dir, "p.jpg") + `": the file must end in .png`},
		{[]string{"-history", filepath.Join(dir, "h.txt")}, `-history "` + filepath.Join(dir, "h.txt") + `": the file must end in .csv or .json`},
		{[]string{"-history", filepath.Join(dir, "no", "h.csv")}, "the folder " + filepath.Join(dir, "no") + " does not exist"},
		{[]string{"-early-stop", "-1"}, `invalid value "-1" for flag -early-stop: out of range (want >= 1, or 0: off)`},
		{[]string{"-early-stop-monitor", "val_acc"}, `-early-stop-monitor: unknown figure "val_acc"`},
		{[]string{"-early-stop", "3", "-val-split", "0"}, "-early-stop monitors val_loss, which needs a validation split"},
		{[]string{"-early-stop-min-delta", "-0.5"}, `invalid value "-0.5" for flag -early-stop-min-delta: out of range (want >= 0)`},
		{[]string{"-warmup", "10", "-epochs", "10"}, "-warmup must be in [0, -epochs=10), got 10"},
		{[]string{"-clip-norm", "-1"}, `invalid value "-1" for flag -clip-norm: out of range (want > 0, or 0: off)`},
		{[]string{"-progress", "yes"}, `-progress must be auto, on or off, got "yes"`},
		{[]string{"-lr-schedule", "step:0:0.5"}, `-lr-schedule "step:0:0.5": EVERY "0" is not a whole number of epochs >= 1`},
		{[]string{"-lr-schedule", "step:2:2"}, `FACTOR "2" is not in (0, 1]`},
		{[]string{"-lr-schedule", "step:2"}, `-lr-schedule "step:2": unknown form (want none, step:EVERY:FACTOR or cosine[:FLOOR])`},
		{[]string{"-lr-schedule", "cosine:x"}, `FLOOR "x" is not a learning rate >= 0`},
		{[]string{"-lr-schedule", "cosine:0.01"}, "FLOOR 0.01 is above the learning rate 0.001"},
		{[]string{"-lr-schedule", "exponential"}, "unknown form"},
		{[]string{"-tb-histograms", "-1", "-tensorboard", dir}, `invalid value "-1" for flag -tb-histograms: out of range (want >= 1, or 0: none)`},
		{[]string{"-tb-histograms", "10"}, "-tb-histograms needs -tensorboard DIR"},
		{[]string{"-tensorboard", filepath.Join(dir, "file")}, `-tensorboard "` + filepath.Join(dir, "file") + `": not a folder`},
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "file"), nil, 0o644))
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			assert.Equal(t, 2, run(c.args, &out, &errb))
			msg := errb.String()
			assert.Equal(t, 1, strings.Count(msg, "\n"), msg)
			assert.Contains(t, msg, c.want)
		})
	}
}

// convenienceCallbacks parses args and returns the callbacks made for a trainer.
func convenienceCallbacks(t *testing.T, args ...string) (*options, *train.Trainer, []train.Callback) {
	t.Helper()
	o, err := parseFlags(args, &bytes.Buffer{})
	require.NoError(t, err)
	opt, err := train.NewOptimizer(o.optimizer, float32(o.lr))
	require.NoError(t, err)
	tr := &train.Trainer{Optimizer: opt, Dev: cpu.New(cpu.Options{})}
	cbs, err := o.conv.callbacks(o, tr, &bytes.Buffer{})
	require.NoError(t, err)
	return o, tr, cbs
}

func TestConvenienceFlagsMakeTheirCallbacks(t *testing.T) {
	o, tr, cbs := convenienceCallbacks(t)
	assert.Empty(t, cbs, "nothing by default (and no bar off a terminal)")
	assert.Zero(t, tr.ClipNorm)

	lr := float64(float32(0.01))
	o, tr, cbs = convenienceCallbacks(t, "-epochs", "5", "-lr", "0.01", "-lr-schedule", "cosine:0.0001", "-warmup", "1",
		"-clip-norm", "2.5", "-early-stop", "3", "-early-stop-monitor", "val_accuracy", "-early-stop-min-delta", "0.001")
	assert.Equal(t, float32(2.5), tr.ClipNorm)
	require.Len(t, cbs, 2)
	// Warm-up for one epoch, then the cosine over the remaining four, to the floor at
	// the last epoch.
	assert.Equal(t, train.Warmup{Epochs: 1, Then: train.CosineDecay{Initial: lr, Floor: 0.0001, Epochs: 4}}, o.conv.schedule)
	assert.Equal(t, train.NewLearningRateSchedule(o.conv.schedule), cbs[0])
	assert.Equal(t, &train.EarlyStopping{Monitor: "val_accuracy", MinDelta: 0.001, Patience: 3, RestoreBest: true}, cbs[1])

	o, _, _ = convenienceCallbacks(t, "-lr-schedule", "step:2:0.5", "-optimizer", "sgd")
	assert.Equal(t, train.StepDecay{Initial: float64(float32(0.01)), Factor: 0.5, Every: 2}, o.conv.schedule, "SGD's default rate")
	o, _, _ = convenienceCallbacks(t, "-warmup", "0.5")
	assert.Equal(t, train.Warmup{Epochs: 0.5, Then: train.Constant(float64(float32(0.001)))}, o.conv.schedule)

	_, _, cbs = convenienceCallbacks(t, "-progress", "on")
	require.Len(t, cbs, 1, "a forced bar")
	_, _, cbs = convenienceCallbacks(t, "-progress", "on", "-json")
	assert.Len(t, cbs, 1, "-progress on wins over -json")
}

func TestConveniencesOnMNIST(t *testing.T) {
	if _, err := os.Stat(filepath.Join(mnistDir, "train-images-idx3-ubyte.gz")); err != nil {
		t.Skip("MNIST not found in data/mnist: run `make data` (make test does)")
	}
	dir := t.TempDir()
	hist, pic := filepath.Join(dir, "h.json"), filepath.Join(dir, "p.png")
	var out, errb bytes.Buffer
	code := run([]string{"-device", "cpu", "-epochs", "3", "-limit", "2000", "-data", mnistDir, "-lr-schedule", "step:1:0.5",
		"-clip-norm", "10", "-history", hist, "-plot", pic, "-progress", "on"}, &out, &errb)
	require.Equal(t, 0, code, errb.String())
	s := out.String()
	assert.Contains(t, s, "history written to "+hist)
	assert.Contains(t, s, "plot written to "+pic)
	assert.Contains(t, s, "\r", "the forced bar draws")
	assert.Contains(t, s, "samples/s")

	h, err := train.LoadHistoryJSON(hist)
	require.NoError(t, err)
	require.Len(t, h.Epochs, 3)
	for i, e := range h.Epochs {
		assert.InDelta(t, 0.001/float64(int(1)<<i), e.LearningRate, 1e-9, "step decay halves the rate each epoch")
	}
	f, err := os.Open(pic)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	assert.Equal(t, 1200, img.Bounds().Dx())

	// -json: no bar, and the report is still the last line.
	out.Reset()
	code = run([]string{"-device", "cpu", "-epochs", "2", "-limit", "1000", "-data", mnistDir, "-json", "-early-stop", "1"}, &out, &errb)
	require.Equal(t, 0, code, errb.String())
	assert.NotContains(t, out.String(), "\r")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var r map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &r))
}

// -tensorboard writes what Fit saw into DIR/train and DIR/validation: the epoch
// figures of the -json report, the flags and the model as text, histograms.
func TestTensorBoardLogs(t *testing.T) {
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs") // created
	r := runJSON(t, "-device", "cpu", "-dataset", "csv:"+barsCSV(t, dir, 400, 1), "-epochs", "3", "-hidden", "16",
		"-tensorboard", logs, "-tb-histograms", "5")
	read := func(run string) []tensorboard.Event {
		files, err := filepath.Glob(filepath.Join(logs, run, "events.out.tfevents.*"))
		require.NoError(t, err)
		require.Len(t, files, 1, run)
		evs, err := tensorboard.ReadFile(files[0])
		require.NoError(t, err)
		return evs
	}
	scalars := map[string]map[int64]float32{}
	texts := map[string]string{}
	hists := 0
	for _, ev := range read(tensorboard.TrainRun) {
		for _, v := range ev.Values {
			switch {
			case v.HasScalar:
				if scalars[v.Tag] == nil {
					scalars[v.Tag] = map[int64]float32{}
				}
				scalars[v.Tag][ev.Step] = v.Scalar
			case v.Strings != nil:
				texts[v.Tag] = v.Strings[0]
			case v.Histogram != nil:
				hists++
			}
		}
	}
	val := map[int64]float32{}
	for _, ev := range read(tensorboard.ValidationRun) {
		for _, v := range ev.Values {
			if v.Tag == tensorboard.TagEpochLoss {
				val[ev.Step] = v.Scalar
			}
		}
	}
	hist := r["history"].([]any)
	require.Len(t, hist, 3)
	for i, e := range hist {
		e := e.(map[string]any)
		step := int64(i + 1)
		assert.Equal(t, float32(e["loss"].(float64)), scalars[tensorboard.TagEpochLoss][step], "epoch %d", step)
		assert.Equal(t, float32(e["accuracy"].(float64)), scalars[tensorboard.TagEpochAccuracy][step], "epoch %d", step)
		assert.Equal(t, float32(e["val_loss"].(float64)), val[step], "epoch %d", step)
	}
	assert.NotEmpty(t, scalars[tensorboard.TagBatchLoss])
	assert.NotEmpty(t, scalars[tensorboard.TagBatchLearningRate])
	assert.Contains(t, texts["flags"], "| **-tensorboard** | **"+logs+"** |")
	assert.Contains(t, texts["flags"], "| -lr | 0 |")
	assert.Contains(t, texts["model"], "trainable parameters")
	assert.Contains(t, texts["model"], "| 0.weight | (16, 64) | 1024 |")
	assert.Positive(t, hists)
}
