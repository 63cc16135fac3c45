package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
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

// testProc is a process for running the program in a test: its output in buffers,
// callbacks of the test's in Fit, signals sent by the test (signal), and an exit that
// fails the test (a second signal, which ends the process, is tested in a child
// process).
type testProc struct {
	*process
	t        *testing.T
	out, err bytes.Buffer
	mu       sync.Mutex
	sigs     chan<- os.Signal
}

func newTestProc(t *testing.T, cbs ...train.Callback) *testProc {
	tp := &testProc{t: t}
	tp.process = &process{stdout: &tp.out, stderr: &tp.err, callbacks: cbs,
		notify: func(c chan<- os.Signal, _ []os.Signal) func() {
			tp.mu.Lock()
			tp.sigs = c
			tp.mu.Unlock()
			return func() {
				tp.mu.Lock()
				tp.sigs = nil
				tp.mu.Unlock()
			}
		},
		exit: func(code int) { t.Errorf("the program asked to exit with status %d", code) },
	}
	return tp
}

// signal delivers sig to the running training and waits until the handler has acted
// on it.
func (tp *testProc) signal(sig os.Signal) {
	tp.mu.Lock()
	c := tp.sigs
	tp.mu.Unlock()
	if c == nil {
		tp.t.Fatalf("signal %v: no training is running", sig)
	}
	before := tp.handled.Load()
	c <- sig
	for tp.handled.Load() == before {
		runtime.Gosched()
	}
}

// signalAt is a callback that sends sig to tp after the given batch.
func signalAt(tp **testProc, sig os.Signal, epoch, batch int) *hook {
	return &hook{batchEnd: func(h *hook, b train.BatchStats) {
		if b.Epoch == epoch && b.Batch == batch {
			(*tp).signal(sig)
		}
	}}
}

// runWith runs the program with callbacks added to Fit's.
func runWith(t *testing.T, args []string, cbs ...train.Callback) (code int, stdout, stderr string) {
	tp := newTestProc(t, cbs...)
	code = tp.run(args)
	return code, tp.out.String(), tp.err.String()
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

// resumeArgs are the arguments of the resume command in a message: what follows
// "resume with: gputrain".
func resumeArgs(t *testing.T, msg string) []string {
	t.Helper()
	i := strings.Index(msg, "resume with: ")
	require.GreaterOrEqual(t, i, 0, msg)
	return strings.Fields(strings.TrimSpace(msg[i+len("resume with: "):]))[1:]
}

// SIGINT and SIGTERM mid-epoch save a checkpoint, say how to resume and exit 130 and
// 143; without -save the checkpoint goes to a new file in the current directory, one
// per run. Resuming as told ends with the weights of the run never interrupted.
func TestInterruptSavesAndResumeMatchesUninterrupted(t *testing.T) {
	data := tinyMNIST(t)
	dir := t.TempDir()
	base := []string{"-device", "cpu", "-threads", "2", "-data", data, "-epochs", "3", "-hidden", "16", "-batch", "16", "-seed", "5"}

	whole := filepath.Join(dir, "whole.safetensors")
	code, out, errs := runWith(t, append(base, "-save", whole))
	require.Equal(t, 0, code, errs)
	assert.Contains(t, out, "checkpoint saved to "+whole)

	t.Chdir(dir)
	for _, c := range []struct {
		sig    os.Signal
		code   int
		notice string
		what   string
	}{
		{os.Interrupt, 130, "gputrain: interrupt: finishing the current step and saving a checkpoint (interrupt again to abort at once)", "interrupted"},
		{syscall.SIGTERM, 143, "gputrain: SIGTERM: finishing the current step and saving a checkpoint (signal again to abort at once)", "stopped by SIGTERM"},
	} {
		t.Run(signalName(c.sig), func(t *testing.T) {
			// Interrupted in epoch 2 (18 batches of 16 per epoch), without -save: the
			// checkpoint goes to a new file in the current directory.
			var tp *testProc
			tp = newTestProc(t, signalAt(&tp, c.sig, 2, 7))
			code := tp.run(base)
			require.Equal(t, c.code, code, "stdout:\n%s\nstderr:\n%s", tp.out.String(), tp.err.String())
			lines := strings.Split(strings.TrimSpace(tp.err.String()), "\n")
			require.Len(t, lines, 2, "the notice, then the result: %q", tp.err.String())
			assert.Equal(t, c.notice, lines[0])
			msg := lines[1]
			m := regexp.MustCompile(`^gputrain: ` + c.what + ` at epoch 2 after (\d+) batches \(step \d+\); checkpoint saved to (gputrain-interrupted-\d{8}-\d{6}(-\d+)?\.safetensors); resume with: gputrain -resume (\S+) -device cpu -threads 2 -save (\S+)$`).FindStringSubmatch(msg)
			require.NotNil(t, m, msg)
			path := m[2]
			assert.Equal(t, []string{path, path}, []string{m[4], m[5]})
			ck, err := checkpoint.Open(filepath.Join(dir, path))
			require.NoError(t, err)
			assert.Equal(t, 2, ck.Progress.Epoch)
			assert.Equal(t, 7, ck.Progress.Batch, "stopped after the step the signal came in")
			assert.Equal(t, "16", ck.Settings.Flags["hidden"])
			assert.Equal(t, "3", ck.Settings.Flags["epochs"])

			// Resume as the message says.
			code, out, errs := runWith(t, resumeArgs(t, msg))
			require.Equal(t, 0, code, errs)
			assert.Contains(t, out, "resumed from "+path+": epoch 2")
			assert.NotContains(t, out, "epoch 1/3", "epoch 1 is not trained again")
			assert.Contains(t, out, "epoch 3/3")
			assert.Equal(t, modelTensors(t, whole), modelTensors(t, filepath.Join(dir, path)),
				"interrupted and resumed: the same weights, statistics and optimizer state, bit for bit")
		})
	}
	// Each interrupted run kept its own file.
	files, err := filepath.Glob(filepath.Join(dir, "gputrain-interrupted-*.safetensors"))
	require.NoError(t, err)
	assert.Len(t, files, 2)
}

// SIGUSR1 saves a checkpoint after the step in progress and training goes on; so does
// -save-every N, every N optimizer steps. A checkpoint saved either way resumes to the
// uninterrupted run's weights.
func TestSaveOnSignalAndEveryNSteps(t *testing.T) {
	data := tinyMNIST(t)
	dir := t.TempDir()
	base := []string{"-device", "cpu", "-threads", "2", "-data", data, "-epochs", "2", "-hidden", "16", "-batch", "16", "-seed", "5",
		"-accum-steps", "2"}
	whole := filepath.Join(dir, "whole.safetensors")
	code, _, errs := runWith(t, append(base, "-save", whole))
	require.Equal(t, 0, code, errs)

	// SIGUSR1 after batch 5 of epoch 1, in the middle of an accumulation group of 2:
	// the checkpoint is written after batch 6, where the group ends.
	path := filepath.Join(dir, "run.safetensors")
	usr1 := filepath.Join(dir, "usr1.safetensors")
	var tp *testProc
	tp = newTestProc(t, signalAt(&tp, saveSignal, 1, 5), &hook{batchEnd: func(h *hook, b train.BatchStats) {
		if b.Epoch == 1 && b.Batch == 7 { // what the signal saved, before the epoch's end replaces it
			require.NoError(t, copyFile(path, usr1))
		}
	}})
	require.Equal(t, 0, tp.run(append(base, "-save", path)), tp.err.String())
	assert.Contains(t, tp.err.String(), "gputrain: SIGUSR1: saving a checkpoint after the current step\n")
	assert.Contains(t, tp.err.String(), "gputrain: SIGUSR1: checkpoint saved to "+path+" at epoch 1, batch 6 (step 3); training goes on; resume with: gputrain -resume "+path)
	assert.Contains(t, tp.out.String(), "epoch 2/2")
	ck, err := checkpoint.Open(usr1)
	require.NoError(t, err)
	assert.Equal(t, [3]int{1, 6, 3}, [3]int{ck.Progress.Epoch, ck.Progress.Batch, ck.Progress.OptimizerSteps})
	code, _, errs = runWith(t, []string{"-device", "cpu", "-resume", usr1, "-save", usr1})
	require.Equal(t, 0, code, errs)
	assert.Equal(t, modelTensors(t, whole), modelTensors(t, usr1), "resumed from the SIGUSR1 checkpoint: the same weights")

	// -save-every 4: after steps 4 and 8 of the 9 in epoch 1 (18 batches in groups of 2).
	every := filepath.Join(dir, "every.safetensors")
	var saved []int
	code, _, errs = runWith(t, append(base, "-save", every, "-save-every", "4"), &hook{batchEnd: func(h *hook, b train.BatchStats) {
		if ck, err := checkpoint.Open(every); err == nil && b.Epoch == 1 && b.Batch%2 == 0 && !slices.Contains(saved, ck.Progress.OptimizerSteps) {
			saved = append(saved, ck.Progress.OptimizerSteps)
			if ck.Progress.OptimizerSteps == 4 {
				require.NoError(t, copyFile(every, filepath.Join(dir, "step4.safetensors")))
			}
		}
	}})
	require.Equal(t, 0, code, errs)
	assert.Equal(t, []int{4, 8}, saved)
	ck, err = checkpoint.Open(filepath.Join(dir, "step4.safetensors"))
	require.NoError(t, err)
	assert.Equal(t, [2]int{1, 8}, [2]int{ck.Progress.Epoch, ck.Progress.Batch})
	code, _, errs = runWith(t, []string{"-device", "cpu", "-resume", filepath.Join(dir, "step4.safetensors"), "-save", filepath.Join(dir, "step4.safetensors")})
	require.Equal(t, 0, code, errs)
	assert.Equal(t, modelTensors(t, whole), modelTensors(t, filepath.Join(dir, "step4.safetensors")), "resumed from step 4: the same weights")

	code, _, errs = runWith(t, append(base, "-save-every", "3"))
	assert.Equal(t, 2, code)
	assert.Contains(t, errs, "-save-every needs -save FILE")
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}

// A second SIGINT or SIGTERM aborts at once with the first one's status and saves
// nothing. It exits the process, so it runs in a child test process, with the
// process's own signals.
func TestSecondSignalAborts(t *testing.T) {
	if dir := os.Getenv("GPUTRAIN_TEST_ABORT_DIR"); dir != "" {
		n, _ := strconv.Atoi(os.Getenv("GPUTRAIN_TEST_ABORT_SIGNAL"))
		sig := syscall.Signal(n)
		p := &process{stdout: os.Stdout, stderr: os.Stderr, notify: osSignals, exit: os.Exit}
		p.callbacks = []train.Callback{&hook{batchEnd: func(h *hook, b train.BatchStats) {
			if b.Epoch == 1 && b.Batch == 3 {
				syscall.Kill(os.Getpid(), sig)
				for p.handled.Load() == 0 { // the first one taken (two pending would be one)
					runtime.Gosched()
				}
				syscall.Kill(os.Getpid(), sig)
				// The second signal ends the process; if it does not, this step never
				// finishes, and the exit status below says so.
				time.Sleep(time.Minute)
				os.Exit(99)
			}
		}}}
		os.Exit(p.run([]string{"-device", "cpu", "-data", dir, "-epochs", "2", "-hidden", "8", "-save", filepath.Join(dir, "run.safetensors")}) + 100)
	}
	for _, c := range []struct {
		sig  syscall.Signal
		code int
		name string
	}{{syscall.SIGINT, 130, "interrupt"}, {syscall.SIGTERM, 143, "SIGTERM"}} {
		t.Run(c.name, func(t *testing.T) {
			data := tinyMNIST(t)
			cmd := exec.Command(os.Args[0], "-test.run=^TestSecondSignalAborts$")
			cmd.Env = append(os.Environ(), "GPUTRAIN_TEST_ABORT_DIR="+data, fmt.Sprintf("GPUTRAIN_TEST_ABORT_SIGNAL=%d", int(c.sig)))
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			require.ErrorAs(t, err, &ee, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			assert.Equal(t, c.code, ee.ExitCode(), "at once, not after the step; stderr: %s", stderr.String())
			assert.Contains(t, stderr.String(), "gputrain: second "+c.name+": aborting without saving")
			assert.NoFileExists(t, filepath.Join(data, "run.safetensors"))
			entries, err := os.ReadDir(data)
			require.NoError(t, err)
			assert.Len(t, entries, 4, "no checkpoint and no temporary file")
		})
	}
}

// The real signal: SIGTERM sent by another process to a training gputrain (the test
// binary standing in for it, with the process's own signal handling) ends it with
// status 143 after a checkpoint that resumes.
func TestSIGTERMFromOutside(t *testing.T) {
	if dir := os.Getenv("GPUTRAIN_TEST_TERM_DIR"); dir != "" {
		os.Exit(run([]string{"-device", "cpu", "-threads", "1", "-data", dir, "-epochs", "100000", "-hidden", "8", "-batch", "8",
			"-save", filepath.Join(dir, "run.safetensors"), "-progress", "off"}, os.Stdout, os.Stderr))
	}
	data := tinyMNIST(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestSIGTERMFromOutside$")
	cmd.Env = append(os.Environ(), "GPUTRAIN_TEST_TERM_DIR="+data)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "epoch 2/") { // training, with a checkpoint of epoch 1 written
			require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
			break
		}
	}
	go io.Copy(io.Discard, stdout)
	err = cmd.Wait()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, stderr.String())
	assert.Equal(t, 143, ee.ExitCode(), stderr.String())
	msg := stderr.String()
	assert.Contains(t, msg, "gputrain: SIGTERM: finishing the current step and saving a checkpoint")
	assert.Regexp(t, `gputrain: stopped by SIGTERM at epoch \d+ after \d+ batches \(step \d+\); checkpoint saved to \S+run.safetensors; resume with: gputrain -resume \S+run.safetensors`, msg)
	ck, err := checkpoint.Open(filepath.Join(data, "run.safetensors"))
	require.NoError(t, err)
	assert.GreaterOrEqual(t, ck.Progress.Epoch, 2)
	args := resumeArgs(t, msg)
	code, out, errs := runWith(t, append(args, "-epochs", strconv.Itoa(ck.Progress.Epoch)))
	require.Equal(t, 0, code, errs)
	assert.Contains(t, out, fmt.Sprintf("resumed from %s: epoch %d, batch %d", filepath.Join(data, "run.safetensors"), ck.Progress.Epoch, ck.Progress.Batch))
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
	code, _, msg := runWith(t, []string{"-device", "cpu", "-data", data, "-epochs", "3", "-hidden", "8", "-val-split", "0", "-save", path}, poison)
	assert.Equal(t, 1, code)
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
