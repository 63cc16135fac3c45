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

	"github.com/gputrain/gputrain/train/checkpoint"
	"github.com/gputrain/gputrain/train/data"
)

func needMNIST(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(mnistDir, "train-images-idx3-ubyte.gz")); err != nil {
		t.Skip("MNIST not found in data/mnist: run `make data` (make test does)")
	}
}

// runOK runs gputrain and requires exit status 0.
func runOK(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	require.Equal(t, 0, code, "gputrain %s: %s", strings.Join(args, " "), errb.String())
	return out.String()
}

// Train on MNIST, then fine-tune only the head on Fashion-MNIST: the frozen layers
// come out bit for bit as they went in.
func TestFineTuneTheHeadOnFashionMNIST(t *testing.T) {
	needMNIST(t)
	fashion := data.DefaultFashionMNISTDir
	if _, err := os.Stat(filepath.Join(fashion, "train-images-idx3-ubyte.gz")); err != nil {
		t.Skipf("Fashion-MNIST not found in %s (Debian's dataset-fashion-mnist; CI installs it)", fashion)
	}
	dir := t.TempDir()
	base := filepath.Join(dir, "mnist.safetensors")
	runOK(t, "-device", "cpu", "-epochs", "1", "-limit", "3000", "-data", mnistDir, "-save", base)
	tuned := filepath.Join(dir, "fashion.safetensors")
	out := runOK(t, "-device", "cpu", "-epochs", "2", "-limit", "3000", "-dataset", "fashion-mnist",
		"-init", base, "-freeze", "0,2", "-save", tuned)
	assert.Contains(t, out, "init from "+base+": loaded 6 tensors\n")
	assert.Contains(t, out, "frozen: 0.weight, 0.bias, 2.weight, 2.bias (108736 values); training 650 values")
	assert.Contains(t, out, "650 trainable parameters")

	a, err := checkpoint.ReadFile(base)
	require.NoError(t, err)
	b, err := checkpoint.ReadFile(tuned)
	require.NoError(t, err)
	for _, name := range []string{"0.weight", "0.bias", "2.weight", "2.bias"} {
		assert.Equal(t, a.Tensor(name).F32, b.Tensor(name).F32, "%s is frozen", name)
	}
	assert.NotEqual(t, a.Tensor("4.weight").F32, b.Tensor("4.weight").F32, "the head learned Fashion-MNIST")
	assert.Nil(t, b.Tensor("optimizer.0.weight.m"), "no optimizer state for frozen weights")

	// A resumed fine-tuning run keeps -freeze.
	ck, err := checkpoint.Open(tuned)
	require.NoError(t, err)
	assert.Equal(t, "0,2", ck.Settings.Flags["freeze"])
	out = runOK(t, "-device", "cpu", "-resume", tuned, "-epochs", "3", "-data", data.DefaultFashionMNISTDir)
	assert.Contains(t, out, "650 trainable parameters")

	var o, e bytes.Buffer
	assert.Equal(t, 2, run([]string{"-device", "cpu", "-limit", "100", "-data", mnistDir, "-init", base, "-freeze", "7"}, &o, &e))
	assert.Contains(t, e.String(), `-freeze: no trainable parameter is named "7" or starts with "7."`)
	o.Reset()
	e.Reset()
	assert.Equal(t, 2, run([]string{"-resume", tuned, "-epochs", "9", "-init", base}, &o, &e))
	assert.Contains(t, e.String(), "-init starts a new run from a file's weights; -resume continues a run")
}

// predict rebuilds the model from the checkpoint alone and reports what the run's own
// test evaluation reported.
func TestPredictFromACheckpoint(t *testing.T) {
	needMNIST(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "run.safetensors")
	out := runOK(t, "-device", "cpu", "-epochs", "1", "-limit", "2000", "-data", mnistDir, "-model", "resnet", "-batch", "64", "-save", path, "-json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var trained map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &trained))

	out = runOK(t, "predict", "-resume", path, "-device", "cpu", "-json")
	lines = strings.Split(strings.TrimSpace(out), "\n")
	var r predictReport
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &r))
	assert.Equal(t, 10000, r.Examples)
	assert.InDelta(t, trained["test_accuracy"], r.TestAccuracy, 1e-12, "the same model, the same test set")
	assert.InDelta(t, trained["test_loss"], r.TestLoss, 1e-6)
	require.Len(t, r.Predictions, 10000)
	require.Len(t, r.Probabilities, 10000)
	correct := 0
	set, err := data.Load("mnist", data.LoadOptions{Dir: mnistDir})
	require.NoError(t, err)
	labels := set.Test.Y.Data().([]int32)
	for i, p := range r.Predictions {
		if p == int(labels[i]) {
			correct++
		}
		sum := float32(0)
		for _, v := range r.Probabilities[i] {
			sum += v
		}
		require.InDelta(t, 1, sum, 1e-5)
	}
	assert.InDelta(t, r.TestAccuracy, float64(correct)/10000, 1e-12, "the predictions are the ones scored")

	out = runOK(t, "predict", "-resume", path, "-device", "cpu", "-n", "100")
	assert.Contains(t, out, "(100 examples)")

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"predict"}, "-resume FILE names the checkpoint to predict with"},
		{[]string{"predict", "-resume", filepath.Join(dir, "none.safetensors")}, "none.safetensors"},
		{[]string{"predict", "-resume", path, "-n", "-1"}, `invalid value "-1" for flag -n: out of range (want >= 1, or 0: all)`},
		{[]string{"predict", "-resume", path, "-dataset", "csv:" + filepath.Join(dir, "no.csv")}, "no.csv"},
	} {
		var o, e bytes.Buffer
		assert.Equal(t, 2, run(c.args, &o, &e), c.args)
		assert.Contains(t, e.String(), c.want)
		assert.Equal(t, 1, strings.Count(e.String(), "\n"), e.String())
	}
}
