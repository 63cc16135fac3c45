package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mnistDir is where `make data` puts MNIST, relative to this package.
const mnistDir = "../../data/mnist"

func TestBadInvocationsExitTwoWithOneLine(t *testing.T) {
	empty := t.TempDir()
	corrupt := t.TempDir()
	for _, f := range []string{"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"} {
		require.NoError(t, os.WriteFile(filepath.Join(corrupt, f), []byte("not an idx file"), 0o644))
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-epochs", "0"}, `invalid value "0" for flag -epochs: out of range (want >= 1)`},
		{[]string{"-batch", "-3"}, `invalid value "-3" for flag -batch: out of range (want >= 1)`},
		{[]string{"-hidden", "128,x"}, `-hidden: "x" is not a positive layer width`},
		{[]string{"-val-split", "1.5"}, `invalid value "1.5" for flag -val-split: out of range (want in [0, 1))`},
		{[]string{"-lr", "-1"}, `invalid value "-1" for flag -lr: out of range (want > 0; when not given: the optimizer's Keras default`},
		{[]string{"-lr", "0"}, `invalid value "0" for flag -lr: 0 is not accepted (want > 0; when not given: the optimizer's Keras default, 0.01 for sgd and momentum, 0.001 for adam and adamw; 0.002 for a ratings data set)`},
		{[]string{"-lr", "NaN"}, `invalid value "NaN" for flag -lr: not a finite number (want > 0;`},
		{[]string{"-lr", "Inf"}, `invalid value "Inf" for flag -lr: not a finite number`},
		{[]string{"-l2", "NaN"}, `invalid value "NaN" for flag -l2: not a finite number (want >= 0)`},
		{[]string{"-l2", "-0.5"}, `invalid value "-0.5" for flag -l2: out of range (want >= 0)`},
		{[]string{"-optimizer", "rmsprop"}, `unknown optimizer "rmsprop"`},
		{[]string{"-device", "tpu"}, `unknown device "tpu"`},
		{[]string{"-device", "cuda"}, "built without CUDA support (build with -tags cuda)"},
		{[]string{"-nosuchflag"}, "flag provided but not defined: -nosuchflag"},
		{[]string{"-epochs", "ten"}, `invalid value "ten" for flag -epochs`},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"-device", "cpu", "-data", empty}, empty},
		{[]string{"-device", "cpu", "-data", corrupt}, "train-images-idx3-ubyte"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(c.args, &out, &errb)
			assert.Equal(t, 2, code)
			msg := errb.String()
			assert.Equal(t, 1, strings.Count(msg, "\n"), "one line on stderr: %q", msg)
			assert.True(t, strings.HasPrefix(msg, "gputrain: "), msg)
			assert.Contains(t, msg, c.want)
			assert.NotContains(t, msg, "goroutine")
		})
	}
}

func TestHelpExitsZero(t *testing.T) {
	var out, errb bytes.Buffer
	assert.Equal(t, 0, run([]string{"-h"}, &out, &errb))
	assert.Contains(t, out.String(), "-device")
	assert.Empty(t, errb.String())
}

func TestVersionExitsZero(t *testing.T) {
	var out, errb bytes.Buffer
	assert.Equal(t, 0, run([]string{"-version", "-epochs", "0"}, &out, &errb), "before the other flags' checks")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 4, out.String())
	assert.True(t, strings.HasPrefix(lines[0], "gputrain "), lines[0])
	assert.True(t, strings.HasPrefix(lines[1], "commit "), lines[1])
	assert.True(t, strings.HasPrefix(lines[2], "tags "), lines[2])
	assert.Empty(t, errb.String())
}

func TestShortRunPrintsEpochsAndJSON(t *testing.T) {
	if _, err := os.Stat(filepath.Join(mnistDir, "train-images-idx3-ubyte.gz")); err != nil {
		t.Skip("MNIST not found in data/mnist: run `make data` (make test does)")
	}
	var out, errb bytes.Buffer
	code := run([]string{"-device", "cpu", "-epochs", "2", "-limit", "3000", "-data", mnistDir, "-json"}, &out, &errb)
	require.Equal(t, 0, code, errb.String())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	assert.Contains(t, out.String(), "epoch 1/2")
	assert.Contains(t, out.String(), "epoch 2/2")
	var r map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &r), "the last line is one JSON object")
	for _, k := range []string{"device", "epochs", "batch", "test_accuracy", "test_loss", "epoch_seconds", "samples_per_second"} {
		assert.Contains(t, r, k)
	}
	assert.Equal(t, "cpu", r["device"])
	assert.Equal(t, 2.0, r["epochs"])
	assert.Equal(t, 32.0, r["batch"])
	assert.Len(t, r["epoch_seconds"], 2)
	assert.Equal(t, 2700.0, r["train_examples"], "the last 10% of 3000 are held out")
	assert.Greater(t, r["test_accuracy"], 0.85, "3000 examples, 2 epochs")
	assert.Greater(t, r["samples_per_second"], 0.0)
}
