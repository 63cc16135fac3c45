package checkpoint

import (
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/train"
)

// trained returns a trainer whose mlp has had one epoch on blobs.
func trained(t *testing.T, hidden int, act nn.Activation, opt string) (*train.Trainer, train.Dataset) {
	t.Helper()
	data := blobs(1, 160, []int{4}, 3)
	tr := newTrainer(mlp(hidden, act), opt, 7)
	_, err := tr.Fit(data, train.Config{Epochs: 1})
	require.NoError(t, err)
	return tr, data
}

func TestSaveWritesPyTorchNamesAndMetadata(t *testing.T) {
	tr, _ := trained(t, 8, nn.ReLU, "adam")
	path := filepath.Join(t.TempDir(), "run.safetensors")
	require.NoError(t, Save(path, tr, Settings{Model: "mlp 8", Dataset: "blobs", Flags: map[string]string{"lr": "0.001"}}))

	f, err := ReadFile(path)
	require.NoError(t, err)
	// Dense(8, relu) is Linear+ReLU (modules 0, 1), BatchNorm 2, Dropout 3,
	// Dense(3, softmax) Linear+Softmax (4, 5).
	model := []string{"0.weight", "0.bias", "2.weight", "2.bias", "2.running_mean", "2.running_var", "2.num_batches_tracked", "4.weight", "4.bias"}
	var opt []string
	for _, p := range []string{"0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"} {
		opt = append(opt, "optimizer."+p+".m", "optimizer."+p+".v")
	}
	assert.Equal(t, append(model, opt...), names(f))
	assert.Equal(t, []int{8, 4}, f.Tensor("0.weight").Shape, "Linear weight is (out, in)")
	nbt := f.Tensor("2.num_batches_tracked")
	assert.Equal(t, I64, nbt.DType)
	assert.Equal(t, []int{}, nbt.Shape)
	assert.Equal(t, []int64{10}, nbt.I64, "160 examples in batches of 16: 10 training steps")

	want := snapshot(t, tr)
	for name, v := range want {
		assert.Equal(t, v, f.Tensor(name).F32, name)
	}
	assert.Equal(t, "pt", f.Metadata["format"])

	c, err := Open(path)
	require.NoError(t, err)
	assert.Equal(t, Settings{Model: "mlp 8", Dataset: "blobs", Input: []int{4}, Loss: tr.Loss.Name(), Seed: 7, BatchSize: 16,
		Flags: map[string]string{"lr": "0.001"}}, c.Settings)
	assert.Equal(t, "2", c.Version)
	assert.Equal(t, []string{"(root): sequential", "0: dense units=8 activation=relu", "2: batchnorm", "3: dropout rate=0.25", "4: dense units=3 activation=softmax"}, c.Modules)
	require.NotNil(t, c.Spec)
	spec, err := nn.SpecOf(tr.Net())
	require.NoError(t, err)
	assert.Equal(t, spec, c.Spec, "the stored description is the model's")
	assert.Equal(t, "adam", c.Optimizer.Name)
	assert.Equal(t, 10, c.Optimizer.Steps)
	assert.Equal(t, float32(0.001), c.Optimizer.LearningRate)
	require.NotNil(t, c.Optimizer.Hyper)
	assert.Equal(t, float32(0.999), c.Optimizer.Hyper.Beta2)
	assert.Equal(t, train.Progress{Epoch: 2, ModelStep: 10, OptimizerSteps: 10, History: c.Progress.History}, c.Progress)
	require.Len(t, c.Progress.History.Epochs, 1)
	assert.Equal(t, tr.Progress().History.Epochs[0].Loss, c.Progress.History.Epochs[0].Loss)
}

func TestRestoreLoadsEverything(t *testing.T) {
	tr, data := trained(t, 8, nn.ReLU, "momentum")
	tr.Optimizer.SetLearningRate(0.005) // as a schedule would
	path := filepath.Join(t.TempDir(), "run.safetensors")
	require.NoError(t, Save(path, tr, Settings{}))

	c, err := Open(path)
	require.NoError(t, err)
	fresh := newTrainer(mlp(8, nn.ReLU), "momentum", 7)
	require.NoError(t, c.Restore(fresh))
	assert.Equal(t, snapshot(t, tr), snapshot(t, fresh), "weights, running statistics and optimizer state")
	assert.Equal(t, 10, fresh.Optimizer.Iterations())
	assert.Equal(t, float32(0.005), fresh.Optimizer.LearningRate())
	assert.Equal(t, uint64(10), fresh.Net().Context().Step)
	a, err := tr.Predict(data.X)
	require.NoError(t, err)
	b, err := fresh.Predict(data.X)
	require.NoError(t, err)
	assert.Equal(t, a.Data(), b.Data(), "the same predictions")

	// RestoreModel takes the weights only.
	other := newTrainer(mlp(8, nn.ReLU), "sgd", 99)
	require.NoError(t, c.RestoreModel(other))
	assert.Equal(t, 0, other.Optimizer.Iterations())
	got := snapshot(t, other)
	for _, p := range tr.Net().Params() {
		assert.Equal(t, snapshot(t, tr)[p.Name], got[p.Name], p.Name)
	}
}

// fileBytes reads path, for checking that nothing on disk changed.
func fileBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

// A checkpoint that does not fit is refused with the tensor, layer or setting named,
// and neither the model nor the file changes.
func TestRestoreRefusesWhatDoesNotFit(t *testing.T) {
	src, _ := trained(t, 8, nn.ReLU, "adam")
	dir := t.TempDir()
	good := filepath.Join(dir, "good.safetensors")
	require.NoError(t, Save(good, src, Settings{}))
	edited := func(name string, edit func(f *File)) string {
		f, err := ReadFile(good)
		require.NoError(t, err)
		edit(f)
		path := filepath.Join(dir, name+".safetensors")
		require.NoError(t, WriteFile(path, f))
		return path
	}
	drop := func(name string) func(f *File) {
		return func(f *File) {
			f.Tensors = slices.DeleteFunc(f.Tensors, func(t Tensor) bool { return t.Name == name })
		}
	}
	cases := []struct {
		name    string
		path    string
		trainer func() *train.Trainer
		want    []string
	}{
		{"wider model", good, func() *train.Trainer { return newTrainer(mlp(16, nn.ReLU), "adam", 7) },
			[]string{"tensor 0.weight has shape (8, 4) in the checkpoint, (16, 4) in the model", `module "0: dense units=8 activation=relu" in the checkpoint, "0: dense units=16 activation=relu" in the model`}},
		{"other activation", good, func() *train.Trainer { return newTrainer(mlp(8, nn.Tanh), "adam", 7) },
			[]string{`module "0: dense units=8 activation=relu" in the checkpoint, "0: dense units=8 activation=tanh" in the model`}},
		{"fewer layers", good, func() *train.Trainer {
			return newTrainer(nn.NewSequential(nn.NewDense(8, nn.ReLU), nn.NewDense(3, nn.Softmax)), "adam", 7)
		}, []string{`the checkpoint's module "3: dropout rate=0.25" is not in the model, which has 3 modules`, "tensor 2.weight has shape (8) in the checkpoint, (3, 8) in the model", "unexpected tensors"}},
		{"missing tensor", edited("missing", drop("4.bias")), func() *train.Trainer { return newTrainer(mlp(8, nn.ReLU), "adam", 7) },
			[]string{"tensor 4.bias is missing"}},
		{"missing optimizer state", edited("noopt", drop("optimizer.0.weight.v")), func() *train.Trainer { return newTrainer(mlp(8, nn.ReLU), "adam", 7) },
			[]string{"tensor optimizer.0.weight.v is missing"}},
		{"unexpected tensor", edited("extra", func(f *File) {
			f.Tensors = append(f.Tensors, Tensor{Name: "9.weight", DType: F32, Shape: []int{1}, F32: []float32{1}})
		}), func() *train.Trainer { return newTrainer(mlp(8, nn.ReLU), "adam", 7) }, []string{"unexpected tensors 9.weight"}},
		{"wrong dtype", edited("dtype", func(f *File) {
			t := f.Tensor("0.bias")
			t.DType, t.F32, t.I64 = I64, nil, make([]int64, 8)
		}), func() *train.Trainer { return newTrainer(mlp(8, nn.ReLU), "adam", 7) }, []string{"tensor 0.bias has dtype I64 in the checkpoint, want F32"}},
		{"bad counter", edited("counter", func(f *File) { f.Tensor("2.num_batches_tracked").I64[0] = -1 }),
			func() *train.Trainer { return newTrainer(mlp(8, nn.ReLU), "adam", 7) }, []string{"tensor 2.num_batches_tracked is I64 [], want a non-negative I64 scalar"}},
		{"other optimizer", good, func() *train.Trainer { return newTrainer(mlp(8, nn.ReLU), "sgd", 7) },
			[]string{"optimizer adam in the checkpoint, sgd in the trainer"}},
		{"other seed and batch", good, func() *train.Trainer {
			tr := newTrainer(mlp(8, nn.ReLU), "adam", 8)
			tr.BatchSize = 32
			return tr
		}, []string{"seed 7 in the checkpoint, 8 in the trainer", "batch size 16 in the checkpoint, 32 in the trainer"}},
		{"other loss", good, func() *train.Trainer {
			tr := newTrainer(mlp(8, nn.ReLU), "adam", 7)
			tr.Loss = &nn.MSE{}
			return tr
		}, []string{"loss sparse_categorical_crossentropy in the checkpoint, mse in the trainer"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := c.trainer()
			require.NoError(t, tr.Build([]int{4}))
			require.NoError(t, tr.Optimizer.Allocate(tr.Dev, tr.Net().Params()))
			before, disk := snapshot(t, tr), fileBytes(t, c.path)
			ck, err := Open(c.path)
			require.NoError(t, err)
			err = ck.Restore(tr)
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), "checkpoint: "+c.path+": "), err.Error())
			for _, w := range c.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Equal(t, before, snapshot(t, tr), "the model and optimizer are unchanged")
			assert.Equal(t, 0, tr.Optimizer.Iterations())
			assert.Equal(t, disk, fileBytes(t, c.path), "the file is unchanged")
		})
	}
}

// Files that are not whole, valid checkpoints are refused by Open with the file named.
func TestOpenRefusesBrokenFiles(t *testing.T) {
	src, _ := trained(t, 8, nn.ReLU, "adam")
	dir := t.TempDir()
	good := filepath.Join(dir, "good.safetensors")
	require.NoError(t, Save(good, src, Settings{}))
	b := fileBytes(t, good)
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, data, 0o644))
		return path
	}
	corrupt := slices.Clone(b)
	corrupt[9] = '!' // inside the JSON header
	var pytorchOnly File
	pytorchOnly.Tensors = []Tensor{{Name: "0.weight", DType: F32, Shape: []int{1}, F32: []float32{1}}}
	require.NoError(t, WriteFile(filepath.Join(dir, "plain.safetensors"), &pytorchOnly))
	meta := func(name, key, value string) string {
		f, err := ReadFile(good)
		require.NoError(t, err)
		f.Metadata[key] = value
		path := filepath.Join(dir, name+".safetensors")
		require.NoError(t, WriteFile(path, f))
		return path
	}
	cases := []struct {
		path, want string
	}{
		{write("half", b[:len(b)/2]), "header length"},
		{write("cut", b[:len(b)-10]), "run past the end of the data"},
		{write("header-only", b[:20]), "header length"},
		{write("not-safetensors", []byte("PK\x03\x04 this is a zip file, not a checkpoint")), "exceeds"},
		{write("corrupt", corrupt), "header"},
		{write("empty", nil), "file is 0 bytes"},
		{filepath.Join(dir, "plain.safetensors"), `not a gputrain checkpoint (no "gputrain.version"`},
		{meta("progress-json", keyProgress, "{"), `metadata "gputrain.progress": unexpected end of JSON input`},
		{meta("version", keyVersion, "3"), `reads (layouts 1 and 2): upgrade gputrain to load it`}, // TestCheckpointsRecordTheirWriter has the whole message
		{meta("spec", keySpec, `{"layers": [{"type": "warp"}]}`), `metadata "gputrain.spec": nn: spec: layer 0: unknown layer type "warp"`},
		{meta("epoch0", keyProgress, `{"epoch":0}`), "bad position: epoch 0"},
		{meta("input0", keySettings, `{"batch_size":16,"input":[0]}`), "input shape [0]"},
		{meta("input-huge", keySettings, `{"batch_size":16,"input":[100000,100000]}`), "input shape [100000 100000] has more than 16777216 values per example"},
		{filepath.Join(dir, "nonexistent.safetensors"), "no such file"},
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.path), func(t *testing.T) {
			_, err := Open(c.path)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.path)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

// A failed save leaves the previous checkpoint byte for byte as it was, and no
// temporary file behind.
func TestSaveIsAtomic(t *testing.T) {
	tr, _ := trained(t, 8, nn.ReLU, "adam")
	dir := t.TempDir()
	path := filepath.Join(dir, "run.safetensors")
	require.NoError(t, Save(path, tr, Settings{}))
	require.NoError(t, os.Chmod(path, 0o640))
	old := fileBytes(t, path)
	entries := func() []string {
		es, err := os.ReadDir(dir)
		require.NoError(t, err)
		var out []string
		for _, e := range es {
			out = append(out, e.Name())
		}
		return out
	}

	boom := errors.New("disk on fire")
	err := writeAtomic(path, func(w io.Writer) error {
		_, err := w.Write(make([]byte, 3<<20)) // past the buffer: bytes reach the temporary file
		require.NoError(t, err)
		return boom
	})
	require.ErrorIs(t, err, boom)
	assert.Contains(t, err.Error(), "checkpoint: cannot write "+path+" (left unchanged): disk on fire")
	assert.Equal(t, old, fileBytes(t, path))
	assert.Equal(t, []string{"run.safetensors"}, entries())

	err = Save(filepath.Join(dir, "no", "such", "dir", "x.safetensors"), tr, Settings{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), filepath.Join(dir, "no", "such", "dir", "x.safetensors"))
	assert.Error(t, Save(dir, tr, Settings{}), "a directory is not a checkpoint path")

	_, err = tr.Fit(blobs(1, 160, []int{4}, 3), train.Config{Epochs: 2}) // new weights to save
	require.NoError(t, err)
	require.NoError(t, Save(path, tr, Settings{}))
	assert.NotEqual(t, old, fileBytes(t, path), "a good save replaces the file")
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), st.Mode().Perm(), "and keeps its mode")
	assert.Equal(t, []string{"run.safetensors"}, entries())
}

// The metadata values are JSON that a PyTorch user can read back.
func TestMetadataIsJSON(t *testing.T) {
	tr, _ := trained(t, 8, nn.ReLU, "adamw")
	f, err := Capture(tr, Settings{Model: "m"})
	require.NoError(t, err)
	for _, k := range []string{keySettings, keySpec, keyModules, keyOptimizer, keyProgress} {
		var v any
		require.NoError(t, json.Unmarshal([]byte(f.Metadata[k]), &v), k)
	}
	var o map[string]any
	require.NoError(t, json.Unmarshal([]byte(f.Metadata[keyOptimizer]), &o))
	assert.Equal(t, "adamw", o["name"])
	assert.InDelta(t, 0.004, o["hyper"].(map[string]any)["WeightDecay"], 1e-9)
	assert.False(t, math.IsNaN(o["lr"].(float64)))
}

// withVersion makes this binary's version v for the test.
func withVersion(t *testing.T, v string) {
	old := binaryVersion
	binaryVersion = func() string { return v }
	t.Cleanup(func() { binaryVersion = old })
}

// Checkpoints record the gputrain that wrote them; a newer layout is refused with both
// versions named, and so is what a newer gputrain wrote that this one cannot read.
func TestCheckpointsRecordTheirWriter(t *testing.T) {
	withVersion(t, "v1.2.0")
	src, _ := trained(t, 8, nn.ReLU, "adam")
	dir := t.TempDir()
	good := filepath.Join(dir, "good.safetensors")
	require.NoError(t, Save(good, src, Settings{}))
	c, err := Open(good)
	require.NoError(t, err)
	assert.Equal(t, "v1.2.0", c.Writer)
	assert.Equal(t, "v1.2.0", c.File.Metadata["gputrain.writer"], "under its own key")
	assert.Equal(t, "2", c.File.Metadata["gputrain.version"], "the layout stays where it was")

	craft := func(name string, meta map[string]string) string {
		f, err := ReadFile(good)
		require.NoError(t, err)
		for k, v := range meta {
			if v == "" {
				delete(f.Metadata, k)
			} else {
				f.Metadata[k] = v
			}
		}
		path := filepath.Join(dir, name+".safetensors")
		require.NoError(t, WriteFile(path, f))
		return path
	}
	unknownKind := `{"layers": [{"type": "warp"}]}`
	for _, c := range []struct {
		name string
		meta map[string]string
		want string // "" opens
	}{
		{"layout3", map[string]string{keyVersion: "3", keyWriter: "v1.4.0"},
			"checkpoint layout 3, written by gputrain v1.4.0, is newer than this gputrain v1.2.0 reads (layouts 1 and 2): upgrade gputrain to load it"},
		{"layout10-no-writer", map[string]string{keyVersion: "10", keyWriter: ""},
			"checkpoint layout 10, written by a gputrain that did not record its version, is newer than this gputrain v1.2.0 reads"},
		{"layout-garbage", map[string]string{keyVersion: "two", keyWriter: "v1.0.0"},
			`checkpoint layout "two", written by gputrain v1.0.0, is not one this gputrain v1.2.0 reads (layouts 1 and 2)`},
		{"newer-writer-unknown-module", map[string]string{keySpec: unknownKind, keyWriter: "v1.4.0"},
			`(the file was written by gputrain v1.4.0, newer than this gputrain v1.2.0: upgrade gputrain to load it)`},
		{"newer-writer", map[string]string{keyWriter: "v1.4.0-rc.1"}, ""},
		{"no-writer", map[string]string{keyWriter: ""}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := craft(c.name, c.meta)
			ck, err := Open(path)
			if c.want == "" {
				require.NoError(t, err, "the layout says what a file holds: a newer gputrain's file of a known layout loads")
				assert.Equal(t, c.meta[keyWriter], ck.Writer)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), path)
			assert.Contains(t, err.Error(), c.want)
			if strings.Contains(c.name, "unknown-module") {
				assert.Contains(t, err.Error(), `unknown layer type "warp"`)
			}
		})
	}

	// An older writer's unreadable file is just unreadable: no advice to upgrade.
	_, err = Open(craft("older-writer-unknown-module", map[string]string{keySpec: unknownKind, keyWriter: "v1.1.0"}))
	require.ErrorContains(t, err, `unknown layer type "warp"`)
	assert.NotContains(t, err.Error(), "upgrade")
	// Nor for a development build, which has no version to compare.
	withVersion(t, "(devel)")
	_, err = Open(craft("devel-reader", map[string]string{keySpec: unknownKind, keyWriter: "v1.4.0"}))
	require.ErrorContains(t, err, `unknown layer type "warp"`)
	assert.NotContains(t, err.Error(), "upgrade")
}

// IsCheckpoint tells our checkpoints from every other file by the header alone.
func TestIsCheckpoint(t *testing.T) {
	tr, _ := trained(t, 8, nn.ReLU, "adam")
	dir := t.TempDir()
	path := filepath.Join(dir, "run.safetensors")
	require.NoError(t, Save(path, tr, Settings{}))
	assert.True(t, IsCheckpoint(path))
	plain := filepath.Join(dir, "torch.safetensors") // safetensors, but not ours
	require.NoError(t, WriteFile(plain, &File{Metadata: map[string]string{"format": "pt"},
		Tensors: []Tensor{{Name: "w", DType: F32, Shape: []int{2}, F32: []float32{1, 2}}}}))
	assert.False(t, IsCheckpoint(plain))
	for name, content := range map[string]string{"png": "\x89PNG\r\n\x1a\n....", "empty": "", "short": "\x10\x00",
		"huge header": "\xff\xff\xff\xff\xff\xff\xff\x7f{}", "not json": "\x04\x00\x00\x00\x00\x00\x00\x00abcd"} {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
		assert.False(t, IsCheckpoint(p), name)
	}
	assert.False(t, IsCheckpoint(filepath.Join(dir, "missing")))
	assert.False(t, IsCheckpoint(dir))
}
