package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/train"
	"github.com/gputrain/gputrain/train/checkpoint"
)

// Runs that would not fit in memory are refused before anything large is allocated,
// with exit status 2 and one line saying what they need and what there is: a batch of
// ten million, a hidden layer of a hundred million, a JSON model with a huge layer, and
// any run against -max-memory. A run that fits goes ahead.
func TestMemoryPlanRefusesWhatDoesNotFit(t *testing.T) {
	data := tinyMNIST(t)
	dir := t.TempDir()
	huge := filepath.Join(dir, "huge.json")
	require.NoError(t, os.WriteFile(huge, []byte(`{"layers": [{"type": "flatten"},
		{"type": "dense", "units": 2000000000, "activation": "relu"}, {"type": "dense", "units": 10, "activation": "softmax"}]}`), 0o644))
	base := []string{"-device", "cpu", "-threads", "1", "-data", data, "-epochs", "1"}
	need := regexp.MustCompile(`^gputrain: needs ([0-9.]+ [kMGTPE]?B) on cpu; ([0-9.]+ [kMGTPE]?B) (available|-max-memory); lower -batch or the model size \(.* on cpu at the peak: parameters .*, gradients .*, optimizer state .*, data .*, workspaces .*\)\n$`)
	for _, c := range []struct {
		name string
		args []string
		at   string // the smallest need, as the message writes it, for the ones we can tell
	}{
		{"batch", []string{"-batch", "10000000"}, "GB"},
		{"hidden", []string{"-hidden", "100000000"}, "GB"},
		{"json model", []string{"-model", huge}, "TB"},
		{"max-memory", []string{"-max-memory", "100kB"}, "kB"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			assert.Equal(t, 2, run(append(base, c.args...), &out, &errb))
			m := need.FindStringSubmatch(errb.String())
			require.NotNil(t, m, "%q", errb.String())
			assert.Contains(t, m[1], c.at)
			assert.NotContains(t, out.String(), "epoch 1/1", "nothing trained")
		})
	}
	var out, errb bytes.Buffer
	require.Equal(t, 0, run(append(base, "-max-memory", "100MB"), &out, &errb), errb.String())
	assert.Contains(t, out.String(), "epoch 1/1")
}

// The output files are checked before anything is loaded: two outputs on one file, an
// output on an input, a folder that is missing or cannot be written, and an existing
// file that is not ours are refused with exit status 2 and one line, and nothing is
// written; -overwrite replaces a file that is not ours, and our own files are replaced
// without it.
func TestOutputFilesAreCheckedFirst(t *testing.T) {
	data := tinyMNIST(t)
	dir := t.TempDir()
	photo := filepath.Join(dir, "photo.png")
	require.NoError(t, os.WriteFile(photo, []byte("\x89PNG\r\n\x1a\nsomeone's photo"), 0o644))
	notes := filepath.Join(dir, "notes.csv")
	require.NoError(t, os.WriteFile(notes, []byte("a,b\n1,2\n"), 0o644))
	model := filepath.Join(dir, "model.json")
	require.NoError(t, os.WriteFile(model, []byte(`{"layers": [{"type": "flatten"}, {"type": "dense", "units": 10, "activation": "softmax"}]}`), 0o644))
	readOnly := filepath.Join(dir, "ro")
	require.NoError(t, os.Mkdir(readOnly, 0o555))
	label := filepath.Join(data, "t10k-labels-idx1-ubyte")
	ratings := filepath.Join(dir, "ratings.csv")
	require.NoError(t, os.WriteFile(ratings, []byte("user,item,rating\nu1,i1,4\n"), 0o644))
	other := filepath.Join(dir, "other.safetensors")
	require.NoError(t, os.WriteFile(other, []byte("not a checkpoint"), 0o644))
	before := snapshotDir(t, dir)
	base := []string{"-device", "cpu", "-data", data, "-epochs", "1"}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-save", filepath.Join(dir, "same.png"), "-plot", filepath.Join(dir, "same.png")}, "-save and -plot name the same file, " + filepath.Join(dir, "same.png")},
		{[]string{"-save", label}, "-save " + label + " is the file -data reads: writing it would destroy an input"},
		{[]string{"-save", label, "-overwrite"}, "-save " + label + " is the file -data reads"},
		{[]string{"-save", other}, "-save " + other + ": the file exists and is not a gputrain checkpoint; give another name, or -overwrite to replace it"},
		{[]string{"-plot", photo}, "-plot " + photo + ": the file exists and is not a gputrain plot"},
		{[]string{"-history", notes}, "-history " + notes + ": the file exists and is not a gputrain history file"},
		{[]string{"-model", model, "-save", model}, "-save " + model + " is the file -model reads"},
		{[]string{"-save", filepath.Join(dir, "missing", "x.safetensors")}, "cannot write in the folder " + filepath.Join(dir, "missing")},
		{[]string{"-plot", "/proc/x.png"}, "-plot /proc/x.png: cannot write in the folder /proc"},
		{[]string{"-save", dir}, "-save " + dir + " is a folder, want a file"},
		{[]string{"-tensorboard", filepath.Join(photo, "logs")}, photo + " is not a folder"},
		{[]string{"-save", filepath.Join(dir, "tb"), "-tensorboard", filepath.Join(dir, "tb")}, "-tensorboard " + filepath.Join(dir, "tb") + " would be made where -save writes its file"},
		{[]string{"-history", filepath.Join(dir, "h.csv"), "-tensorboard", filepath.Join(dir, "h.csv", "logs")}, "would be made where -history writes its file"},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			assert.Equal(t, 2, run(append(base, c.args...), &out, &errb))
			assert.Equal(t, 1, strings.Count(errb.String(), "\n"), errb.String())
			assert.Contains(t, errb.String(), c.want)
			assert.Empty(t, out.String(), "refused before loading anything")
		})
	}
	// The data files of the other data sets are inputs too.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-save", ratings, "-dataset", "ratings:" + ratings, "-model", "mf"}, "-save " + ratings + " is the file -dataset reads"},
		{[]string{"-history", notes, "-dataset", "csv:" + photo + ":test=" + notes, "-overwrite"}, "-history " + notes + " is the file -dataset reads"},
	} {
		var out, errb bytes.Buffer
		assert.Equal(t, 2, run(append([]string{"-device", "cpu", "-epochs", "1"}, c.args...), &out, &errb))
		assert.Contains(t, errb.String(), c.want)
		assert.Empty(t, out.String(), "refused before loading anything")
	}
	if os.Geteuid() != 0 { // root writes anywhere
		var out, errb bytes.Buffer
		assert.Equal(t, 2, run(append(base, "-save", filepath.Join(readOnly, "x.safetensors")), &out, &errb))
		assert.Contains(t, errb.String(), "cannot write in the folder "+readOnly+": permission denied")
	}
	assert.Equal(t, before, snapshotDir(t, dir), "nothing written or changed")

	// -overwrite replaces a file that is not ours; ours are replaced as a matter of course.
	var out, errb bytes.Buffer
	save := filepath.Join(dir, "run.safetensors")
	require.Equal(t, 0, run(append(base, "-save", save, "-plot", photo, "-history", notes, "-overwrite"), &out, &errb), errb.String())
	out.Reset()
	require.Equal(t, 0, run(append(base, "-save", save, "-plot", photo, "-history", notes), &out, &errb), errb.String())
	assert.Contains(t, out.String(), "plot written to "+photo)
	assert.True(t, checkpoint.IsCheckpoint(save))
}

// snapshotDir is every file under dir with its content.
func snapshotDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[p] = string(b)
		} else {
			out[p] = info.Mode().String()
		}
		return nil
	}))
	return out
}

// A save killed before its rename leaves a temporary file; the next run with that
// -save removes it, and says so.
func TestStaleTemporaryFilesAreRemoved(t *testing.T) {
	data := tinyMNIST(t)
	dir := t.TempDir()
	save := filepath.Join(dir, "run.safetensors")
	// A writer that has ended: this test's parent process is alive, pid 2^22+1 is not.
	host := tempHost(t, dir)
	stale := filepath.Join(dir, fmt.Sprintf(".run.safetensors.tmp-%s-%d-1234", host, 1<<22+1))
	require.NoError(t, os.WriteFile(stale, []byte("half a checkpoint"), 0o644))
	live := filepath.Join(dir, fmt.Sprintf(".run.safetensors.tmp-%s-%d-1234", host, os.Getppid()))
	require.NoError(t, os.WriteFile(live, []byte("a save in progress"), 0o644))
	var out, errb bytes.Buffer
	require.Equal(t, 0, run([]string{"-device", "cpu", "-data", data, "-epochs", "1", "-save", save}, &out, &errb), errb.String())
	assert.Contains(t, out.String(), "removed "+stale+", left by a save that was killed\n")
	assert.NoFileExists(t, stale)
	assert.FileExists(t, live, "another process's save in progress is kept")
}

// tempHost is the host tag of the temporary files this process writes.
func tempHost(t *testing.T, dir string) string {
	t.Helper()
	var tag string
	require.NoError(t, train.WriteFileAtomic(filepath.Join(dir, "probe"), func(w io.Writer) error {
		es, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range es {
			if rest, ok := strings.CutPrefix(e.Name(), ".probe.tmp-"); ok {
				tag, _, _ = strings.Cut(rest, "-")
			}
		}
		return nil
	}))
	require.NoError(t, os.Remove(filepath.Join(dir, "probe")))
	require.NotEmpty(t, tag)
	return tag
}

// Output that cannot be written (a full disk behind stdout) makes the run fail with
// status 1 and a message on stderr; so does a -history file that cannot be written
// after training, which no longer costs the test evaluation.
func TestOutputErrorsAreFailures(t *testing.T) {
	data := tinyMNIST(t)
	var errb bytes.Buffer
	code := run([]string{"-device", "cpu", "-data", data, "-epochs", "1", "-json"}, fullWriter{}, &errb)
	assert.Equal(t, 1, code)
	assert.Contains(t, errb.String(), "gputrain: writing the output: no space left on device")

	if f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0); err == nil {
		defer f.Close()
		errb.Reset()
		assert.Equal(t, 1, run([]string{"-device", "cpu", "-data", data, "-epochs", "1", "-json"}, f, &errb))
		assert.Contains(t, errb.String(), "gputrain: writing the output: write /dev/full: no space left on device")
	}
}

type fullWriter struct{}

func (fullWriter) Write([]byte) (int, error) { return 0, syscall.ENOSPC }

// A run without -save says at its end that the model was not kept.
func TestRunWithoutSaveSaysSo(t *testing.T) {
	data := tinyMNIST(t)
	var out, errb bytes.Buffer
	require.Equal(t, 0, run([]string{"-device", "cpu", "-data", data, "-epochs", "1", "-json"}, &out, &errb), errb.String())
	assert.Contains(t, out.String(), "the trained model was not saved (give -save FILE to keep it)\n")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var r map[string]any
	assert.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &r), "the JSON object stays the last line")
}

// A diverging text run stops the same way, with its steps named; -diverge sets the
// factor there too.
func TestDivergingTextRunStops(t *testing.T) {
	path := smallText(t)
	var out, errb bytes.Buffer
	args := append(tinyGPT(path), "-steps", "200", "-lr", "30", "-clip-norm", "0", "-warmup", "0", "-lr-schedule", "none")
	assert.Equal(t, 1, run(args, &out, &errb))
	assert.Regexp(t, `^gputrain: train: steps \d+ to \d+: loss diverged: their mean loss \S+ is \S+ times the first step's \S+ \(more than 10000 times; lower the learning rate\?\)`, errb.String())
	errb.Reset()
	assert.Equal(t, 1, run(append(args, "-diverge", "50"), &out, &errb))
	assert.Contains(t, errb.String(), "(more than 50 times; lower the learning rate?)")
}

// A diverging run (Adam at -lr 1e6) stops with the steps named and exit status 1,
// keeping the last good checkpoint.
func TestDivergingRunStops(t *testing.T) {
	data := tinyMNIST(t)
	save := filepath.Join(t.TempDir(), "run.safetensors")
	var out, errb bytes.Buffer
	code := run([]string{"-device", "cpu", "-data", data, "-epochs", "5", "-lr", "1e6", "-save", save}, &out, &errb)
	assert.Equal(t, 1, code)
	assert.Regexp(t, `^gputrain: train: epoch \d+, batches \d+ to \d+ \(steps \d+ to \d+\): loss diverged: their mean loss \S+ is \S+ times the first batch's \S+ \(more than 10000 times; lower the learning rate\?\)`, errb.String())
	assert.NotContains(t, out.String(), "test  loss")

	// -diverge sets the factor; 0 turns the check off, and the run goes to its end.
	out.Reset()
	errb.Reset()
	assert.Equal(t, 1, run([]string{"-device", "cpu", "-data", data, "-epochs", "5", "-lr", "1e6", "-diverge", "20"}, &out, &errb))
	assert.Contains(t, errb.String(), "(more than 20 times; lower the learning rate?)")
	out.Reset()
	errb.Reset()
	code = run([]string{"-device", "cpu", "-data", data, "-epochs", "2", "-lr", "1e6", "-diverge", "0"}, &out, &errb)
	assert.NotContains(t, errb.String(), "diverged")
	if code == 0 {
		assert.Contains(t, out.String(), "test  loss")
	} else { // unchecked, the loss may overflow: that stop is not the detector's
		assert.Contains(t, errb.String(), "loss is not finite")
	}
}

// historyFigures are a -json report's epochs without their timings.
func historyFigures(t *testing.T, stdout string) []string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var r struct {
		History []train.EpochStats `json:"history"`
	}
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &r), stdout)
	var out []string
	for _, e := range r.History {
		out = append(out, fmt.Sprintf("epoch %d: loss %v acc %v val %v %v lr %v", e.Epoch, e.Loss, e.Accuracy, e.ValLoss, e.ValAccuracy, e.LearningRate))
	}
	return out
}

// A run interrupted mid-epoch and resumed equals the run never interrupted, bit for
// bit (every weight, the optimizer's state, early stopping's state and the history,
// learning rates included), with each learning-rate schedule, warm-up, early stopping,
// gradient clipping and augmentation, and all of them at once.
func TestResumeEqualsUninterruptedWithEveryFlag(t *testing.T) {
	data := tinyMNIST(t)
	base := []string{"-device", "cpu", "-threads", "2", "-data", data, "-epochs", "4", "-hidden", "16", "-batch", "16", "-seed", "3", "-json"}
	for _, c := range []struct {
		name string
		args []string
	}{
		{"step decay", []string{"-lr-schedule", "step:1:0.5"}},
		{"cosine", []string{"-lr-schedule", "cosine:0.0001"}},
		{"warm-up", []string{"-warmup", "1.5"}},
		{"warm-up and cosine", []string{"-warmup", "0.5", "-lr-schedule", "cosine"}},
		{"early stopping", []string{"-early-stop", "1", "-early-stop-min-delta", "0.3"}},
		{"clipping", []string{"-clip-norm", "0.5"}},
		{"augmentation", []string{"-augment", "1"}},
		{"all", []string{"-lr-schedule", "step:2:0.3", "-warmup", "0.7", "-early-stop", "2", "-clip-norm", "1", "-augment", "1", "-accum-steps", "3", "-optimizer", "adamw"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			args := append(append([]string(nil), base...), c.args...)
			whole := filepath.Join(dir, "whole.safetensors")
			code, wholeOut, errs := runWith(t, append(args, "-save", whole))
			require.Equal(t, 0, code, errs)

			path := filepath.Join(dir, "run.safetensors")
			var tp *testProc
			tp = newTestProc(t, signalAt(&tp, os.Interrupt, 2, 7))
			require.Equal(t, 130, tp.run(append(args, "-save", path)), tp.err.String())
			ck, err := checkpoint.Open(path)
			require.NoError(t, err)
			require.Equal(t, 2, ck.Progress.Epoch)
			code, out, errs := runWith(t, resumeArgs(t, tp.err.String()))
			require.Equal(t, 0, code, errs)
			assert.Equal(t, modelTensors(t, whole), modelTensors(t, path), "weights, optimizer and callback state, bit for bit")
			assert.Equal(t, historyFigures(t, wholeOut), historyFigures(t, out), "the same epochs and learning rates")
			if strings.Contains(c.name, "early") {
				assert.Contains(t, out, "early stopping: val_loss has not improved", "the resumed run stops where the whole one did")
				assert.Contains(t, wholeOut, "early stopping: val_loss has not improved")
			}
		})
	}
}

// In a data-parallel job rank 0 alone writes the output files, maybe on another
// machine: the other ranks do not check them (rank 0 does).
func TestOutputFilesAreCheckedByRankZero(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing", "x.safetensors")
	args := []string{"-device", "cpu", "-save", missing}
	for rank, refused := range map[string]bool{"0": true, "1": false} {
		unsetLaunch(t)
		t.Setenv("OMPI_COMM_WORLD_RANK", rank)
		t.Setenv("OMPI_COMM_WORLD_SIZE", "2")
		_, err := parseFlags(args, io.Discard)
		if refused {
			assert.ErrorContains(t, err, "cannot write in the folder", "rank %s", rank)
		} else {
			assert.NoError(t, err, "rank %s", rank)
		}
	}
}
