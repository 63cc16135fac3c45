package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/train/data"
)

// barsCSV writes n images of 8×8 pixels as CSV rows (64 pixels, then the label): class 0
// is a horizontal bar, class 1 a vertical one, each at a random place, on noise.
func barsCSV(t *testing.T, dir string, n int, seed uint64) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	var b strings.Builder
	for range n {
		class, at := rng.IntN(2), 1+rng.IntN(6)
		for r := range 8 {
			for c := range 8 {
				v := 0.2 * rng.Float64()
				if (class == 0 && r == at) || (class == 1 && c == at) {
					v += 0.8
				}
				fmt.Fprintf(&b, "%.3f,", v)
			}
		}
		fmt.Fprintf(&b, "%d\n", class)
	}
	p := filepath.Join(dir, fmt.Sprintf("bars%d.csv", seed))
	require.NoError(t, os.WriteFile(p, []byte(b.String()), 0o644))
	return p
}

func writeModel(t *testing.T, dir, text string) string {
	t.Helper()
	p := filepath.Join(dir, "model.json")
	require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
	return p
}

// runJSON runs the program with -json and returns the report.
func runJSON(t *testing.T, args ...string) map[string]any {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append(args, "-json"), &out, &errb)
	require.Equal(t, 0, code, "stderr: %s", errb.String())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var r map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &r))
	return r
}

func TestCSVDataSetWithTheMLP(t *testing.T) {
	dir := t.TempDir()
	p := barsCSV(t, dir, 400, 1)
	r := runJSON(t, "-device", "cpu", "-dataset", "csv:"+p, "-epochs", "8", "-hidden", "16", "-val-split", "0.1")
	assert.Equal(t, "csv:"+p, r["dataset"])
	assert.Equal(t, "mlp", r["model"])
	assert.Equal(t, 324.0, r["train_examples"], "400 rows: 40 held out for testing, 10% of the rest for validation")
	assert.Greater(t, r["test_accuracy"], 0.9, "bars are easy to tell apart")
	spec := r["model_spec"].(map[string]any)
	assert.Equal(t, []any{64.0}, spec["input"])
}

// TestJSONModelWithAugmentationTrains runs a JSON model that turns CSV rows into images,
// shifts them at random and convolves them.
func TestJSONModelWithAugmentationTrains(t *testing.T) {
	dir := t.TempDir()
	p := barsCSV(t, dir, 400, 2)
	model := writeModel(t, dir, `{"layers": [
		{"type": "reshape", "shape": [1, 8, 8]},
		{"type": "random_shift", "max_shift": 1},
		{"type": "conv2d", "filters": 4, "kernel": 3, "padding": 1, "activation": "relu"},
		{"type": "maxpool2d", "size": 2},
		{"type": "flatten"},
		{"type": "dense", "units": 2, "activation": "softmax"}]}`)
	r := runJSON(t, "-device", "cpu", "-dataset", "csv:"+p, "-model", model, "-epochs", "6", "-val-split", "0")
	assert.Equal(t, model, r["model"])
	assert.Greater(t, r["test_accuracy"], 0.9)
	spec := r["model_spec"].(map[string]any)
	assert.Equal(t, []any{64.0}, spec["input"], "the data's shape where the file gives none")
	hist := r["history"].([]any)
	first, last := hist[0].(map[string]any), hist[len(hist)-1].(map[string]any)
	assert.Less(t, last["loss"], first["loss"], "the loss falls")
}

func TestModelFlagErrors(t *testing.T) {
	dir := t.TempDir()
	csvFile := barsCSV(t, dir, 20, 3)
	badShape := filepath.Join(dir, "shape.json")
	require.NoError(t, os.WriteFile(badShape, []byte(`{"input": [1, 28, 28], "layers": [{"type": "flatten"}, {"type": "dense", "units": 2}]}`), 0o644))
	noFit := filepath.Join(dir, "nofit.json")
	require.NoError(t, os.WriteFile(noFit, []byte(`{"layers": [{"type": "dense", "units": 4}, {"type": "conv2d", "filters": 2, "kernel": 3}]}`), 0o644))
	badJSON := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(badJSON, []byte(`{"layers": [{"type": "dense", "units": 0}]}`), 0o644))
	shifts := filepath.Join(dir, "shifts.json")
	require.NoError(t, os.WriteFile(shifts, []byte(`{"layers": [{"type": "reshape", "shape": [1, 8, 8]}, {"type": "random_shift", "max_shift": 1}, {"type": "flatten"}, {"type": "dense", "units": 2}]}`), 0o644))
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-augment", "-1"}, `invalid value "-1" for flag -augment: out of range (want >= 0)`},
		{[]string{"-model", "cnn", "-hidden", "32"}, "-hidden applies to -model mlp only, not cnn"},
		{[]string{"-model", filepath.Join(dir, "none.json")}, "is not mlp, cnn, resnet, mf or twotower, and not a readable file"},
		{[]string{"-dataset", "csv:" + csvFile, "-data", dir}, "-data names the folder of IDX files"},
		{[]string{"-device", "cpu", "-dataset", "imagenet"}, `unknown data set "imagenet"`},
		{[]string{"-device", "cpu", "-dataset", "csv:" + dir + "/none.csv"}, "none.csv"},
		{[]string{"-device", "cpu", "-dataset", "csv:" + csvFile, "-model", "cnn"}, "the cnn model takes images (channels, height, width), got examples of shape [64]"},
		{[]string{"-device", "cpu", "-dataset", "csv:" + csvFile, "-augment", "2"}, "-augment shifts images, but the model takes examples of shape [64]"},
		{[]string{"-device", "cpu", "-dataset", "csv:" + csvFile, "-model", badShape}, "takes examples of shape [1 28 28] (784 values), but csv:" + csvFile + " has examples of shape [64] (64 values)"},
		{[]string{"-device", "cpu", "-dataset", "csv:" + csvFile, "-model", noFit}, "layer 1 (conv2d) on input (4)"},
		{[]string{"-device", "cpu", "-dataset", "csv:" + csvFile, "-model", badJSON}, "bad.json: nn: spec: layer 0 (dense): units must be positive"},
		{[]string{"-device", "cpu", "-dataset", "csv:" + csvFile, "-model", shifts, "-augment", "1"}, "already augments its input (layer 1 is a random_shift)"},
		{[]string{"-model", "lstm:hidden=0"}, `-model "lstm:hidden=0": hidden=0 is not a positive whole number (want lstm:hidden=128[,layers=1])`},
		{[]string{"-model", "gru:width=3"}, `unknown key "width"`},
		{[]string{"-model", "lstm:hidden=3,hidden=4"}, "hidden given twice"},
		{[]string{"-model", "gru:layers"}, `"layers" is not key=value`},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			assert.Equal(t, 2, run(c.args, &out, &errb))
			msg := errb.String()
			assert.Equal(t, 1, strings.Count(msg, "\n"), "one line on stderr: %q", msg)
			assert.Contains(t, msg, c.want)
		})
	}
}

// imageSet is a small data set of 1×14×14 images, as data.Load gives for the IDX sets.
func imageSet(t *testing.T, name string) *data.Set {
	t.Helper()
	n := 6
	d := &data.Dataset{Name: name, Classes: 10,
		Train: data.Split{Images: make([]uint8, n*14*14), Labels: make([]uint8, n), N: n, H: 14, W: 14},
		Test:  data.Split{Images: make([]uint8, 2*14*14), Labels: make([]uint8, 2), N: 2, H: 14, W: 14}}
	s, err := d.Set()
	require.NoError(t, err)
	return s
}

func types(s *nn.Spec) []string {
	var out []string
	for _, l := range s.Layers() {
		out = append(out, l.Kind())
	}
	return out
}

func TestModelSpecsForImages(t *testing.T) {
	o := &options{hidden: []int{32}, modelOptions: modelOptions{model: "mlp"}}
	set := imageSet(t, "mnist")
	s, err := modelSpec(o, set)
	require.NoError(t, err)
	assert.Equal(t, []int{196}, s.Input, "the mlp takes flat images")
	assert.Equal(t, []string{"dense", "dense"}, types(s))
	require.NoError(t, shapeFor(set, s, "mlp"))
	assert.Equal(t, []int{196}, set.Train.Shape())
	assert.Equal(t, []int{196}, set.Test.Shape())

	o.augment = 2
	s, err = modelSpec(o, imageSet(t, "mnist"))
	require.NoError(t, err)
	assert.Equal(t, []int{1, 14, 14}, s.Input, "augmenting, the mlp takes images and flattens them")
	assert.Equal(t, []string{"random_shift", "flatten", "dense", "dense"}, types(s))
	assert.Equal(t, 2, s.Layers()[0].(*nn.RandomShift).MaxShift)
	assert.False(t, s.Layers()[0].(*nn.RandomShift).FlipH, "digits are not mirrored")

	o.model = "cnn"
	s, err = modelSpec(o, imageSet(t, "fashion-mnist"))
	require.NoError(t, err)
	assert.Equal(t, []int{1, 14, 14}, s.Input)
	assert.Equal(t, "random_shift", s.Layers()[0].Kind())
	assert.True(t, s.Layers()[0].(*nn.RandomShift).FlipH, "clothes are mirrored")
	assert.Equal(t, "conv2d", s.Layers()[1].Kind())
}

func TestRecurrentPresetReadsRows(t *testing.T) {
	o := &options{modelOptions: modelOptions{model: "gru:hidden=32,layers=2"}}
	set := imageSet(t, "mnist")
	s, err := modelSpec(o, set)
	require.NoError(t, err)
	assert.Equal(t, []int{14, 14}, s.Input, "14 steps of 14 pixels")
	assert.Equal(t, []string{"gru", "dense"}, types(s))
	g := s.Layers()[0].(*nn.GRU)
	assert.Equal(t, nn.GRU{Hidden: 32, Layers: 2, Last: true}, *g)
	require.NoError(t, shapeFor(set, s, o.model))
	assert.Equal(t, []int{14, 14}, set.Train.Shape())

	o.model = "lstm"
	s, err = modelSpec(o, imageSet(t, "mnist"))
	require.NoError(t, err)
	assert.Equal(t, 128, s.Layers()[0].(*nn.LSTM).Hidden, "hidden=128 by default")
}
