package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/internal/interop"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/tensor"
	"github.com/gputrain/gputrain/train/checkpoint"
	"github.com/gputrain/gputrain/train/data"
)

// predictJSON runs gputrain predict -json and returns its report.
func predictJSON(t *testing.T, args ...string) predictReport {
	t.Helper()
	out := runOK(t, append([]string{"predict", "-device", "cpu", "-json"}, args...)...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var r predictReport
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &r))
	return r
}

// The mlp, cnn and resnet presets, trained briefly on MNIST, saved and exported with
// gputrain export, run in onnxruntime on the first 1,000 test images (the pixels
// scaled as predict scales them) and give gputrain predict's class probabilities
// within 1e-5 relative error, element by element.
func TestExportedModelsMatchPredict(t *testing.T) {
	needMNIST(t)
	py := interop.Python(t, "onnx and onnxruntime", interop.ONNXImports)
	set, err := data.Load("mnist", data.LoadOptions{Dir: mnistDir})
	require.NoError(t, err)
	const n = 1000
	pixels := set.Test.X.Data().([]uint8)[:n*784]
	x := make([]float32, len(pixels))
	for i, b := range pixels {
		x[i] = float32(b) * (1.0 / 255) // as nn.Model.Predict and the trainer scale bytes
	}
	dir := t.TempDir()
	for _, model := range []string{"mlp", "cnn", "resnet"} {
		t.Run(model, func(t *testing.T) {
			ckpt := filepath.Join(dir, model+".safetensors")
			runOK(t, "-device", "cpu", "-epochs", "1", "-limit", "1500", "-data", mnistDir, "-model", model, "-batch", "50", "-save", ckpt)
			path := filepath.Join(dir, model+".onnx")
			out := runOK(t, "export", "-resume", ckpt, "-onnx", path)
			ck, err := checkpoint.Open(ckpt)
			require.NoError(t, err)
			in := ck.Settings.Input
			assert.Contains(t, out, "exported "+ckpt+" (model "+model)
			assert.Contains(t, out, `input  "input" float32 `+dimsString(in)+": pixels scaled to [0, 1], byte·(1/255), as gputrain predict feeds them\n")
			assert.Contains(t, out, `output "output" float32 (batch, 10)`)

			r := predictJSON(t, "-resume", ckpt, "-n", "1000")
			require.Len(t, r.Probabilities, n)
			got := interop.RunONNX(t, py, path, x, append([]int{n}, in...))
			assert.Equal(t, []int{n, 10}, got.Shape)
			assert.Equal(t, onnxDims(in), got.Inputs[0].Dims, "a dynamic batch, the model's input shape")
			assert.Equal(t, []string{"batch", "10"}, got.Outputs[0].Dims)
			assert.Equal(t, "gputrain", strings.Fields(got.Producer)[0])
			worst, at := 0.0, 0
			for i, row := range r.Probabilities {
				for j, p := range row {
					if e := relDiff(got.Output[i*10+j], p); e > worst {
						worst, at = e, i*10+j
					}
				}
			}
			assert.LessOrEqual(t, worst, 1e-5, "%s: example %d class %d: onnxruntime %v, predict %v",
				model, at/10, at%10, got.Output[at], r.Probabilities[at/10][at%10])
			t.Logf("%-6s opset %d, ops %v: worst relative error %.3g (example %d class %d: onnxruntime %v, predict %v)",
				model, got.Opset, got.Ops, worst, at/10, at%10, got.Output[at], r.Probabilities[at/10][at%10])
		})
	}
}

func relDiff(got, want float32) float64 {
	if got == want {
		return 0
	}
	d := float64(got) - float64(want)
	if d < 0 {
		d = -d
	}
	w := float64(want)
	if w < 0 {
		w = -w
	}
	return d / w
}

func onnxDims(per []int) []string {
	s := strings.Trim(dimsString(per), "()")
	return strings.Split(s, ", ")
}

// noExport is a module of a user's that has no ONNX form (no ExportONNX method): the
// identity.
type noExport struct{ in tensor.Shape }

func init() { nn.Register("test_no_export", func() nn.Module { return &noExport{} }) }

func (l *noExport) Kind() string        { return "test_no_export" }
func (l *noExport) Params() []*nn.Param { return nil }
func (l *noExport) Build(ctx *nn.Context, in tensor.Shape) (tensor.Shape, error) {
	l.in = in.Clone()
	return in, nil
}
func (l *noExport) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) { return x, nil }
func (l *noExport) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	return dy, nil
}

// Bad flags and models that cannot be exported give one line naming the problem.
func TestExportErrors(t *testing.T) {
	dir := t.TempDir()
	p := barsCSV(t, dir, 200, 1)
	spec := writeModel(t, dir, `{"layers": [{"type": "dense", "units": 8, "activation": "relu"}, {"type": "test_no_export"}, {"type": "dense", "units": 2, "activation": "softmax"}]}`)
	ckpt := filepath.Join(dir, "run.safetensors")
	runOK(t, "-device", "cpu", "-dataset", "csv:"+p, "-model", spec, "-epochs", "1", "-save", ckpt)
	good := filepath.Join(dir, "ok.safetensors")
	runOK(t, "-device", "cpu", "-dataset", "csv:"+p, "-hidden", "4", "-epochs", "1", "-save", good)
	out := runOK(t, "export", "-resume", good, "-onnx", filepath.Join(dir, "ok.onnx"), "-opset", "23")
	assert.Contains(t, out, "ONNX opset 23, 4 initializers")
	assert.Contains(t, out, `input  "input" float32 (batch, 64)`+"\n", "features, not pixels: no scaling")

	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"export", "-resume", ckpt, "-onnx", filepath.Join(dir, "m.onnx")}, 1,
			"gputrain export: onnx: cannot export layer 2 (test_no_export): its type *main.noExport has no ExportONNX method (see nn.Exporter)"},
		{[]string{"export", "-onnx", "m.onnx"}, 2, "-resume FILE names the checkpoint whose model to export"},
		{[]string{"export", "-resume", good}, 2, "-onnx MODEL.onnx names the file to write"},
		{[]string{"export", "-resume", good, "-onnx", "m.pb"}, 2, `-onnx "m.pb": the file must end in .onnx`},
		{[]string{"export", "-resume", good, "-onnx", "m.onnx", "-opset", "13"}, 2, `invalid value "13" for flag -opset: out of range (want in [17, 23])`},
		{[]string{"export", "-resume", filepath.Join(dir, "none.safetensors"), "-onnx", "m.onnx"}, 2, "none.safetensors"},
		{[]string{"export", "-resume", good, "-onnx", filepath.Join(dir, "no", "dir", "m.onnx")}, 2, "-onnx " + filepath.Join(dir, "no", "dir", "m.onnx") + ": cannot write in the folder"},
		{[]string{"export", "-resume", good, "-onnx", "m.onnx", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"export", "-resume", "../../train/checkpoint/testdata/layout1-mlp.safetensors", "-onnx", "m.onnx"}, 2,
			`(layout 1) holds no model description, so its model is rebuilt from the flags it was saved with and the data set: data: unknown data set ""`},
	} {
		var o, e bytes.Buffer
		assert.Equal(t, c.code, run(c.args, &o, &e), "%v: %s", c.args, e.String())
		assert.Contains(t, e.String(), c.want, "%v", c.args)
		assert.Equal(t, 1, strings.Count(e.String(), "\n"), "one line: %q", e.String())
	}
}
