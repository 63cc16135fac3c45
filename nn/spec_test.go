package nn_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/tensor"
)

const smallCNN = `{"input": [1, 28, 28], "layers": [
  {"type": "conv2d", "filters": 8, "kernel": 5, "padding": 2, "activation": "relu"},
  {"type": "maxpool2d", "size": 2},
  {"type": "flatten"},
  {"type": "dense", "units": 10, "activation": "softmax"}]}`

func TestParseSpecBuildsTheModel(t *testing.T) {
	s, err := nn.ParseSpec(strings.NewReader(smallCNN))
	require.NoError(t, err)
	m, err := s.Build(newDev(t), 4, 1)
	require.NoError(t, err)
	assert.Equal(t, tensor.Shape{1, 28, 28}, m.InputShape())
	assert.Equal(t, tensor.Shape{10}, m.OutputShape())
	var names []string
	shapes := map[string]tensor.Shape{}
	for _, p := range m.Params() {
		names = append(names, p.Name)
		shapes[p.Name] = p.Value.Shape()
	}
	// PyTorch: Sequential(Conv2d, ReLU, MaxPool2d, Flatten, Linear, Softmax)
	assert.Equal(t, []string{"0.weight", "0.bias", "4.weight", "4.bias"}, names)
	assert.Equal(t, tensor.Shape{8, 1, 5, 5}, shapes["0.weight"])
	assert.Equal(t, tensor.Shape{10, 8 * 14 * 14}, shapes["4.weight"])
	conv := layersOf(m)[0].(*nn.Conv2D)
	assert.Equal(t, nn.Conv2D{Filters: 8, Kernel: 5, Padding: 2, Act: nn.ReLU}, nn.Conv2D{Filters: conv.Filters, Kernel: conv.Kernel, Padding: conv.Padding, Stride: conv.Stride, Act: conv.Act})
}

// everyLayer uses every layer type with every field.
const everyLayer = `{"input": [784], "layers": [
  {"type": "reshape", "shape": [1, 28, 28]},
  {"type": "random_shift", "max_shift": 2, "flip_h": true},
  {"type": "conv2d", "filters": 4, "kernel": 3, "stride": 1, "padding": 1},
  {"type": "batchnorm", "momentum": 0.2, "eps": 0.001},
  {"type": "activation", "activation": "leaky_relu", "slope": 0.1},
  {"type": "maxpool2d", "size": 2, "stride": 2},
  {"type": "conv2d", "filters": 6, "kernel": 3, "stride": 2, "padding": 1, "activation": "leaky_relu", "slope": 0.2},
  {"type": "avgpool2d", "size": 3, "stride": 1, "padding": 1},
  {"type": "flatten"},
  {"type": "dense", "units": 16, "activation": "tanh"},
  {"type": "dropout", "rate": 0.25},
  {"type": "dense", "units": 10},
  {"type": "activation", "activation": "softmax"}]}`

func TestSpecRoundTripsThroughModelAndJSON(t *testing.T) {
	s, err := nn.ParseSpec(strings.NewReader(everyLayer))
	require.NoError(t, err)
	require.Len(t, s.Layers(), 13)
	m, err := s.Build(newDev(t), 3, 1)
	require.NoError(t, err)
	assert.Equal(t, tensor.Shape{10}, m.OutputShape())

	back, err := nn.SpecOf(m)
	require.NoError(t, err)
	assert.Equal(t, s, back, "SpecOf describes the model the Spec made")

	again, err := nn.ParseSpec(strings.NewReader(string(back.JSON())))
	require.NoError(t, err)
	assert.Equal(t, s, again, "JSON writes what ParseSpec reads")
	var types []string
	for _, l := range again.Layers() {
		types = append(types, l.Kind())
	}
	for _, typ := range []string{"activation", "avgpool2d", "batchnorm", "conv2d", "dense", "dropout", "flatten", "maxpool2d", "random_shift", "reshape"} {
		assert.Contains(t, types, typ, "the test covers every layer type of a Sequential list")
	}
}

func TestSpecOfAGoModelRebuildsTheSameWeights(t *testing.T) {
	dev := newDev(t)
	conv := nn.NewConv2D(3, 3, nn.ReLU)
	conv.Padding = 1
	m := nn.NewModel(nn.NewSequential(conv, nn.NewBatchNorm(), nn.NewMaxPool2D(2), nn.NewFlatten(), nn.NewDense(5, nn.ReLU), nn.NewDropout(0.5), nn.NewDense(3, nn.Softmax)))
	require.NoError(t, m.Build(dev, tensor.Shape{2, 6, 6}, 2, 42))
	s, err := nn.SpecOf(m)
	require.NoError(t, err)
	assert.Equal(t, []int{2, 6, 6}, s.Input)
	m2, err := s.Build(dev, 2, 42)
	require.NoError(t, err)
	require.Len(t, m2.Params(), len(m.Params()))
	for i, p := range m.Params() {
		q := m2.Params()[i]
		assert.Equal(t, p.Name, q.Name)
		assert.Equal(t, read(t, p.Value), read(t, q.Value), "%s: same seed, same architecture, same weights", p.Name)
	}

	_, err = nn.SpecOfModule(nn.NewSequential(nn.NewDense(3, nn.ReLU), foreignLayer{}), nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "layer 1: no description for layer type nn_test.foreignLayer")
}

type foreignLayer struct{ nn.Layer }

func (foreignLayer) Kind() string { return "foreign" }

func TestParseSpecErrors(t *testing.T) {
	for _, c := range []struct {
		name, json string
		want       []string
	}{
		{"empty", ``, []string{"nn: spec: empty model description"}},
		{"not an object", `[1, 2]`, []string{"want a JSON object, got array"}},
		{"syntax", "{\"input\": [1, 28, 28],\n \"layers\": [{\"type\": \"dense\" \"units\": 3}]}", []string{"line 2, column", "invalid character"}},
		{"unclosed", `{"layers": [{"type": "dense", "units": 3}`, []string{"ends early"}},
		{"trailing data", `{"layers": [{"type": "flatten"}]} {}`, []string{"line 1, column", "unexpected data after the model description"}},
		{"unknown top field", `{"layers": [], "optimizer": "adam"}`, []string{`unknown field "optimizer"`, `"input", and "layers" or "model"`}},
		{"no layers field", `{"input": [3]}`, []string{`no "layers" list`}},
		{"no layers", `{"input": [3], "layers": []}`, []string{"nn: spec: no layers"}},
		{"bad input", `{"input": [1, 0, 28], "layers": [{"type": "flatten"}]}`, []string{"input shape [1 0 28] has a dimension that is not positive"}},
		{"input type", `{"input": "784", "layers": [{"type": "flatten"}]}`, []string{`field "input": want a list, got string`}},
		{"no type", `{"layers": [{"type": "flatten"}, {"units": 3}]}`, []string{`layer 1: no "type"`, "dense"}},
		{"type not a string", `{"layers": [{"type": 3}]}`, []string{`layer 0: "type" must be a string, got 3`}},
		{"layer not an object", `{"layers": [{"type": "flatten"}, "dense"]}`, []string{"layer 1: line 1, column", "want a JSON object, got string"}},
		{"unknown type", `{"layers": [{"type": "transformer_xl", "units": 3}]}`, []string{`layer 0: unknown layer type "transformer_xl"`, "conv2d, dense, dropout"}},
		{"unknown field", `{"layers": [{"type": "dense", "unit": 3}]}`, []string{`layer 0 (dense): unknown field "unit" (dense takes units, activation, slope, no_bias, tie_weight)`}},
		{"field of another type", `{"layers": [{"type": "flatten"}, {"type": "conv2d", "filters": 2, "kernel": 3, "units": 4}]}`,
			[]string{`layer 1 (conv2d): field "units" does not apply to conv2d (it takes filters, kernel, stride, padding, activation, slope)`}},
		{"flatten takes nothing", `{"layers": [{"type": "flatten", "size": 2}]}`, []string{`does not apply to flatten (it takes no fields)`}},
		{"wrong field type", `{"layers": [{"type": "conv2d", "filters": 8.5, "kernel": 3}]}`, []string{`layer 0 (conv2d): field "filters": want a whole number, got number 8.5`}},
		{"bool field", `{"layers": [{"type": "random_shift", "max_shift": 2, "flip_h": "yes"}]}`, []string{`field "flip_h": want true or false, got string`}},
		{"units", `{"layers": [{"type": "flatten"}, {"type": "dense", "units": 0}]}`, []string{"nn: spec: layer 1 (dense): units must be positive, got 0"}},
		{"kernel", `{"layers": [{"type": "conv2d", "filters": 4}]}`, []string{"layer 0 (conv2d): kernel must be positive, got 0"}},
		{"stride", `{"layers": [{"type": "maxpool2d", "size": 2, "stride": -1}]}`, []string{"layer 0 (maxpool2d): stride must not be negative, got -1"}},
		{"rate", `{"layers": [{"type": "dropout", "rate": 1}]}`, []string{"layer 0 (dropout): rate must be in [0, 1), got 1"}},
		{"momentum", `{"layers": [{"type": "batchnorm", "momentum": 1.5}]}`, []string{"layer 0 (batchnorm): momentum must be in [0, 1] (left out: 0.1), got 1.5"}},
		{"activation", `{"layers": [{"type": "dense", "units": 3, "activation": "swish"}]}`, []string{`layer 0 (dense): field "activation": unknown activation "swish"`}},
		{"conv softmax", `{"layers": [{"type": "conv2d", "filters": 2, "kernel": 3, "activation": "softmax"}]}`, []string{"layer 0 (conv2d): activation softmax is not elementwise"}},
		{"activation layer needs one", `{"layers": [{"type": "activation"}]}`, []string{"layer 0 (activation): no activation"}},
		{"reshape", `{"layers": [{"type": "reshape", "shape": [1, -28]}]}`, []string{"layer 0 (reshape): shape [1 -28] has a dimension that is not positive"}},
		{"max shift", `{"layers": [{"type": "random_shift", "max_shift": -2}]}`, []string{"layer 0 (random_shift): max_shift must not be negative, got -2"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := nn.ParseSpec(strings.NewReader(c.json))
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), "nn: spec: "), err.Error())
			for _, w := range c.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestSpecBuildReportsShapesThatDoNotFit(t *testing.T) {
	for _, c := range []struct {
		name, json string
		want       string
	}{
		{"dense on images", `{"input": [1, 28, 28], "layers": [{"type": "dense", "units": 10}]}`, "layer 0 (dense) on input (1, 28, 28)"},
		{"kernel larger than the image", `{"input": [1, 8, 8], "layers": [{"type": "maxpool2d", "size": 2}, {"type": "conv2d", "filters": 2, "kernel": 5}]}`, "layer 1 (conv2d) on input (1, 4, 4)"},
		{"reshape size", `{"input": [10], "layers": [{"type": "reshape", "shape": [1, 3, 3]}]}`, "layer 0 (reshape) on input (10)"},
		{"conv on vectors", `{"input": [784], "layers": [{"type": "conv2d", "filters": 2, "kernel": 3}]}`, "want (channels, height, width)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := nn.ParseSpec(strings.NewReader(c.json))
			require.NoError(t, err, "the description itself is valid")
			_, err = s.Build(newDev(t), 2, 1)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
	s, err := nn.ParseSpec(strings.NewReader(`{"layers": [{"type": "flatten"}]}`))
	require.NoError(t, err)
	_, err = s.Build(newDev(t), 2, 1)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "nn: spec: no input shape")
}

func TestReadSpecFileNamesTheFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "cnn.json")
	require.NoError(t, os.WriteFile(good, []byte(smallCNN), 0o644))
	s, err := nn.ReadSpecFile(good)
	require.NoError(t, err)
	assert.Len(t, s.Layers(), 4)

	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"layers": [{"type": "dense"}]}`), 0o644))
	_, err = nn.ReadSpecFile(bad)
	require.Error(t, err)
	assert.Contains(t, err.Error(), bad+": nn: spec: layer 0 (dense): units must be positive")

	_, err = nn.ReadSpecFile(filepath.Join(dir, "missing.json"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "missing.json")
}

// TestExampleModelFilesBuild keeps the model descriptions in examples/models working.
func TestExampleModelFilesBuild(t *testing.T) {
	files, err := filepath.Glob("../examples/models/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			s, err := nn.ReadSpecFile(f)
			require.NoError(t, err)
			m, err := s.Build(newDev(t), 2, 1)
			require.NoError(t, err)
			assert.Equal(t, tensor.Shape{10}, m.OutputShape())
		})
	}
}

func TestCNNAugmentFileIsThePresetWithShifts(t *testing.T) {
	s, err := nn.ReadSpecFile("../examples/models/cnn-augment.json")
	require.NoError(t, err)
	preset, err := nn.CNNSpec([]int{1, 28, 28}, 10)
	require.NoError(t, err)
	assert.Equal(t, "random_shift", s.Layers()[0].Kind())
	assert.Equal(t, preset.Layers(), s.Layers()[1:])
}

func TestResNetFileIsThePreset(t *testing.T) {
	s, err := nn.ReadSpecFile("../examples/models/resnet.json")
	require.NoError(t, err)
	preset, err := nn.ResNetSpec([]int{1, 28, 28}, 10)
	require.NoError(t, err)
	assert.Equal(t, preset, s)
}
