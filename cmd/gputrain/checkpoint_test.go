package main

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/train"
	"github.com/gputrain/gputrain/train/checkpoint"
)

// tinyMNIST writes an MNIST-shaped data set of 8×8 images in 10 classes (a bright
// pixel block per class plus noise) as raw IDX files, and returns its directory.
func tinyMNIST(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	write := func(name string, n int) {
		imgs := make([]byte, n*64)
		labels := make([]byte, n)
		for i := range n {
			c := rng.IntN(10)
			labels[i] = byte(c)
			for p := range 64 {
				v := rng.IntN(60)
				if p/6 == c {
					v += 180
				}
				imgs[i*64+p] = byte(v)
			}
		}
		idx := func(data []byte, dims ...int) []byte {
			b := []byte{0, 0, 0x08, byte(len(dims))}
			for _, d := range dims {
				b = binary.BigEndian.AppendUint32(b, uint32(d))
			}
			return append(b, data...)
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, name+"-images-idx3-ubyte"), idx(imgs, n, 8, 8), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name+"-labels-idx1-ubyte"), idx(labels, n), 0o644))
	}
	write("train", 320)
	write("t10k", 60)
	return dir
}

// withCallbacks runs f with testCallbacks set.
func withCallbacks(cbs []train.Callback, f func()) {
	testCallbacks = cbs
	defer func() { testCallbacks = nil }()
	f()
}

// hook is a test callback made of functions.
type hook struct {
	train.NopCallback
	tr         *train.Trainer
	batchEnd   func(h *hook, b train.BatchStats)
	epochBegin func(h *hook, epoch int)
	epochEnd   func(h *hook, e train.EpochStats)
}

func (h *hook) OnTrainBegin(tr *train.Trainer) error { h.tr = tr; return nil }
func (h *hook) OnBatchEnd(b train.BatchStats) error {
	if h.batchEnd != nil {
		h.batchEnd(h, b)
	}
	return nil
}
func (h *hook) OnEpochBegin(epoch int) error {
	if h.epochBegin != nil {
		h.epochBegin(h, epoch)
	}
	return nil
}
func (h *hook) OnEpochEnd(e train.EpochStats) error {
	if h.epochEnd != nil {
		h.epochEnd(h, e)
	}
	return nil
}

// interruptAt sends this process SIGINT after the given batch and waits until the
// handler has taken it (so that the step where training stops does not depend on
// timing more than it must).
func interruptAt(epoch, batch int) *hook {
	return &hook{batchEnd: func(h *hook, b train.BatchStats) {
		if b.Epoch != epoch || b.Batch != batch {
			return
		}
		if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
			panic(err)
		}
		for deadline := time.Now().Add(10 * time.Second); !interruptRequested.Load() && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
	}}
}

// modelTensors are a checkpoint's tensors by name, as bits.
func modelTensors(t *testing.T, path string) map[string][]uint32 {
	t.Helper()
	f, err := checkpoint.ReadFile(path)
	require.NoError(t, err)
	out := map[string][]uint32{}
	for _, x := range f.Tensors {
		var bits []uint32
		for _, v := range x.F32 {
			bits = append(bits, math.Float32bits(v))
		}
		for _, v := range x.I64 {
			bits = append(bits, uint32(v))
		}
		out[x.Name] = bits
	}
	return out
}

// SIGINT mid-epoch saves a checkpoint, says how to resume and exits 130; resuming as
// told ends with the weights of the run never interrupted.
func TestInterruptSavesAndResumeMatchesUninterrupted(t *testing.T) {
	data := tinyMNIST(t)
	dir := t.TempDir()
	base := []string{"-device", "cpu", "-threads", "2", "-data", data, "-epochs", "3", "-hidden", "16", "-batch", "16", "-seed", "5"}

	whole := filepath.Join(dir, "whole.safetensors")
	var out, errb bytes.Buffer
	require.Equal(t, 0, run(append(base, "-save", whole), &out, &errb), errb.String())
	assert.Contains(t, out.String(), "checkpoint saved to "+whole)

	// Interrupted in epoch 2 (18 batches of 16 per epoch), without -save: the
	// checkpoint goes to the current directory.
	t.Chdir(dir)
	out.Reset()
	errb.Reset()
	var code int
	withCallbacks([]train.Callback{interruptAt(2, 7)}, func() { code = run(base, &out, &errb) })
	interruptRequested.Store(false)
	require.Equal(t, 130, code, "stdout:\n%s\nstderr:\n%s", out.String(), errb.String())
	lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
	require.Len(t, lines, 2, "the notice, then the result: %q", errb.String())
	assert.Equal(t, "gputrain: interrupt: finishing the current step and saving a checkpoint (interrupt again to abort at once)", lines[0])
	msg := lines[1]
	assert.Contains(t, msg, "gputrain: interrupted at epoch 2 after ")
	assert.Contains(t, msg, "checkpoint saved to gputrain-interrupted.safetensors; resume with: "+
		"gputrain -resume gputrain-interrupted.safetensors -device cpu -threads 2 -save gputrain-interrupted.safetensors")
	ck, err := checkpoint.Open(filepath.Join(dir, defaultInterruptPath))
	require.NoError(t, err)
	assert.Equal(t, 2, ck.Progress.Epoch)
	assert.GreaterOrEqual(t, ck.Progress.Batch, 7)
	assert.Less(t, ck.Progress.Batch, 18, "stopped mid-epoch")
	assert.Equal(t, "16", ck.Settings.Flags["hidden"])
	assert.Equal(t, "3", ck.Settings.Flags["epochs"])

	// Resume as the message says.
	out.Reset()
	errb.Reset()
	args := strings.Fields(msg[strings.Index(msg, "resume with: ")+len("resume with: "):])[1:]
	require.Equal(t, 0, run(args, &out, &errb), errb.String())
	assert.Contains(t, out.String(), "resumed from gputrain-interrupted.safetensors: epoch 2")
	assert.NotContains(t, out.String(), "epoch 1/3", "epoch 1 is not trained again")
	assert.Contains(t, out.String(), "epoch 3/3")
	assert.Equal(t, modelTensors(t, whole), modelTensors(t, filepath.Join(dir, defaultInterruptPath)),
		"interrupted and resumed: the same weights, statistics and optimizer state, bit for bit")
}

// A second SIGINT aborts at once with status 130 and saves nothing. It exits the
// process, so it runs in a child test process.
func TestSecondInterruptAborts(t *testing.T) {
	if dir := os.Getenv("GPUTRAIN_TEST_ABORT_DIR"); dir != "" {
		twice := &hook{batchEnd: func(h *hook, b train.BatchStats) {
			if b.Epoch == 1 && b.Batch == 3 {
				interruptAt(1, 3).batchEnd(h, b)
				syscall.Kill(os.Getpid(), syscall.SIGINT)
				time.Sleep(20 * time.Second) // the second interrupt must end the process first
			}
		}}
		var code int
		withCallbacks([]train.Callback{twice}, func() {
			code = run([]string{"-device", "cpu", "-data", dir, "-epochs", "2", "-hidden", "8", "-save", filepath.Join(dir, "run.safetensors")}, os.Stdout, os.Stderr)
		})
		os.Exit(code + 100) // not reached when the abort works
	}
	data := tinyMNIST(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestSecondInterruptAborts$")
	cmd.Env = append(os.Environ(), "GPUTRAIN_TEST_ABORT_DIR="+data)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	assert.Equal(t, 130, ee.ExitCode(), "stderr: %s", stderr.String())
	assert.Less(t, time.Since(start), 15*time.Second, "at once, not after the step")
	assert.Contains(t, stderr.String(), "gputrain: second interrupt: aborting without saving")
	assert.NoFileExists(t, filepath.Join(data, "run.safetensors"))
	entries, err := os.ReadDir(data)
	require.NoError(t, err)
	assert.Len(t, entries, 4, "no checkpoint and no temporary file")
}

// A NaN loss stops training with the epoch and steps named, and -save's file keeps the
// checkpoint of the last complete epoch, byte for byte.
func TestNonFiniteLossKeepsLastGoodCheckpoint(t *testing.T) {
	data := tinyMNIST(t)
	path := filepath.Join(t.TempDir(), "run.safetensors")
	var afterEpoch1 []byte
	poison := &hook{
		epochEnd: func(h *hook, e train.EpochStats) {
			if e.Epoch == 1 { // the saver, before this hook, has written epoch 1
				var err error
				afterEpoch1, err = os.ReadFile(path)
				require.NoError(t, err)
			}
		},
		epochBegin: func(h *hook, epoch int) {
			if epoch == 2 { // a NaN weight: every loss from here on is NaN
				w := h.tr.Net().Params()[0].Value
				v, err := w.Float32s()
				require.NoError(t, err)
				v[0] = float32(math.NaN())
				require.NoError(t, w.SetFloat32s(v))
			}
		},
	}
	var out, errb bytes.Buffer
	var code int
	withCallbacks([]train.Callback{poison}, func() {
		code = run([]string{"-device", "cpu", "-data", data, "-epochs", "3", "-hidden", "8", "-val-split", "0", "-save", path}, &out, &errb)
	})
	assert.Equal(t, 1, code)
	msg := errb.String()
	assert.Contains(t, msg, "epoch 2, batches 1 to 10 (steps 11 to 20): loss is not finite (NaN)")
	assert.Contains(t, msg, "the last good checkpoint, "+path+" (end of epoch 1), was kept")
	require.NotNil(t, afterEpoch1)
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, afterEpoch1, got, "the checkpoint of epoch 1, untouched")
	ck, err := checkpoint.Open(path)
	require.NoError(t, err)
	assert.Equal(t, 2, ck.Progress.Epoch)
	assert.Equal(t, 0, ck.Progress.Batch)
}

// -resume refuses flags that would change the run, broken files and epochs already
// done, with exit status 2 and one line naming the problem, and changes no file.
func TestResumeRefusals(t *testing.T) {
	data := tinyMNIST(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "run.safetensors")
	var out, errb bytes.Buffer
	require.Equal(t, 0, run([]string{"-device", "cpu", "-data", data, "-epochs", "1", "-hidden", "8", "-lr", "0.002", "-save", path}, &out, &errb), errb.String())
	saved, err := os.ReadFile(path)
	require.NoError(t, err)
	broken := filepath.Join(dir, "broken.safetensors")
	require.NoError(t, os.WriteFile(broken, saved[:len(saved)-100], 0o644))

	cases := []struct {
		name string
		args []string
		want string
	}{
		{"changed flags", []string{"-resume", path, "-lr", "0.1", "-hidden", "8, 8"}, "-lr 0.1 differs from the checkpoint's 0.002; -hidden 8, 8 differs from the checkpoint's 8: a resumed run keeps the settings it was saved with"},
		{"changed model", []string{"-resume", path, "-model", "cnn"}, "-model cnn differs from the checkpoint's mlp"},
		{"changed l2", []string{"-resume", path, "-l2", "0.01"}, "-l2 0.01 differs from the checkpoint's 0"},
		{"run complete", []string{"-resume", path}, "stopped at epoch 2 after 0 batches; -epochs 1 trains nothing more (give -epochs 2 or more)"},
		{"epochs done", []string{"-resume", path, "-epochs", "1"}, "stopped at epoch 2 after 0 batches; -epochs 1 trains nothing more (give -epochs 2 or more)"},
		{"truncated", []string{"-resume", broken}, "-resume: checkpoint: " + broken + ": tensor"},
		{"missing", []string{"-resume", filepath.Join(dir, "missing.safetensors")}, "no such file or directory"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out.Reset()
			errb.Reset()
			assert.Equal(t, 2, run(append([]string{"-device", "cpu"}, c.args...), &out, &errb))
			assert.Equal(t, 1, strings.Count(errb.String(), "\n"), errb.String())
			assert.Contains(t, errb.String(), c.want)
		})
	}
	now, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, saved, now)

	// The same flags, spelt otherwise, are no conflict, and -epochs extends the run.
	out.Reset()
	errb.Reset()
	require.Equal(t, 0, run([]string{"-device", "cpu", "-resume", path, "-lr", "2e-3", "-hidden", "8", "-epochs", "2", "-save", path}, &out, &errb), errb.String())
	assert.Contains(t, out.String(), "resumed from "+path+": epoch 2, batch 0")
	assert.Contains(t, out.String(), "epoch 2/2")
	ck, err := checkpoint.Open(path)
	require.NoError(t, err)
	assert.Equal(t, "2", ck.Settings.Flags["epochs"], "the extended target is saved")
	assert.Equal(t, "mlp 8", ck.Settings.Model)
	assert.Equal(t, "mnist", ck.Settings.Flags["dataset"])
	assert.Len(t, ck.Progress.History.Epochs, 2)
}

// TestResumeKeepsModelFlags resumes a run of a JSON convolutional model with
// augmentation: -model, -augment and the stored -hidden (which -model FILE ignores)
// come back from the checkpoint without tripping the checks meant for the command line.
func TestResumeKeepsModelFlags(t *testing.T) {
	data := tinyMNIST(t)
	dir := t.TempDir()
	spec := filepath.Join(dir, "conv.json")
	require.NoError(t, os.WriteFile(spec, []byte(`{"layers": [
		{"type": "conv2d", "filters": 4, "kernel": 3, "padding": 1, "activation": "relu"},
		{"type": "maxpool2d", "size": 2}, {"type": "flatten"},
		{"type": "dense", "units": 10, "activation": "softmax"}]}`), 0o644))
	path := filepath.Join(dir, "conv.safetensors")
	var out, errb bytes.Buffer
	require.Equal(t, 0, run([]string{"-device", "cpu", "-data", data, "-model", spec, "-augment", "1", "-epochs", "1", "-save", path}, &out, &errb), errb.String())
	out.Reset()
	require.Equal(t, 0, run([]string{"-device", "cpu", "-resume", path, "-epochs", "2"}, &out, &errb), errb.String())
	assert.Contains(t, out.String(), "resumed from "+path+": epoch 2, batch 0")
	assert.Contains(t, out.String(), "model "+spec+": 5 modules")
	assert.Contains(t, out.String(), "augmentation: random shifts of up to 1 pixels")
	assert.Contains(t, out.String(), "epoch 2/2")
	ck, err := checkpoint.Open(path)
	require.NoError(t, err)
	assert.Equal(t, spec, ck.Settings.Model)
}
