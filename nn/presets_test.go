package nn_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/tensor"
)

func paramShapes(m *nn.Model) map[string]tensor.Shape {
	out := map[string]tensor.Shape{}
	for _, p := range m.Params() {
		out[p.Name] = p.Value.Shape()
	}
	return out
}

// layersOf is the layers of a model whose root is a Sequential.
func layersOf(m *nn.Model) []nn.Module { return m.Root().(*nn.Sequential).Layers }

func TestMLPSpecIsTheReferenceModel(t *testing.T) {
	m, err := nn.MLPSpec(784, []int{128, 64}, 10).Build(newDev(t), 4, 1)
	require.NoError(t, err)
	// PyTorch: Sequential(Linear(784,128), ReLU, Linear(128,64), ReLU, Linear(64,10), Softmax)
	assert.Equal(t, map[string]tensor.Shape{
		"0.weight": {128, 784}, "0.bias": {128},
		"2.weight": {64, 128}, "2.bias": {64},
		"4.weight": {10, 64}, "4.bias": {10},
	}, paramShapes(m))
	d := layersOf(m)[2].(*nn.Dense)
	assert.Equal(t, nn.Softmax, d.Act)

	m, err = nn.MLPSpec(4, nil, 3).Build(newDev(t), 4, 1)
	require.NoError(t, err)
	assert.Equal(t, map[string]tensor.Shape{"0.weight": {3, 4}, "0.bias": {3}}, paramShapes(m))
}

func TestCNNSpec(t *testing.T) {
	s, err := nn.CNNSpec([]int{1, 28, 28}, 10)
	require.NoError(t, err)
	m, err := s.Build(newDev(t), 4, 1)
	require.NoError(t, err)
	assert.Equal(t, tensor.Shape{10}, m.OutputShape())
	shapes := paramShapes(m)
	assert.Equal(t, tensor.Shape{16, 1, 5, 5}, shapes["0.weight"])
	assert.Equal(t, tensor.Shape{16}, shapes["1.running_var"])
	assert.Equal(t, tensor.Shape{32, 16, 5, 5}, shapes["4.weight"])
	assert.Equal(t, tensor.Shape{128, 800}, shapes["9.weight"], "32 channels of 5×5 after the poolings")
	assert.Equal(t, tensor.Shape{10, 128}, shapes["12.weight"])
	back, err := nn.SpecOf(m)
	require.NoError(t, err)
	assert.Equal(t, s, back)

	s, err = nn.CNNSpec([]int{3, 12, 16}, 4)
	require.NoError(t, err, "the smallest images it takes")
	_, err = s.Build(newDev(t), 2, 1)
	require.NoError(t, err)

	_, err = nn.CNNSpec([]int{784}, 10)
	assert.ErrorContains(t, err, "nn: the cnn model takes images (channels, height, width), got examples of shape [784]")
	_, err = nn.CNNSpec([]int{1, 11, 28}, 10)
	assert.ErrorContains(t, err, "at least 12×12 pixels, got 11×28")
}

func TestResNetSpec(t *testing.T) {
	s, err := nn.ResNetSpec([]int{1, 28, 28}, 10)
	require.NoError(t, err)
	m, err := s.Build(newDev(t), 2, 1)
	require.NoError(t, err)
	assert.Equal(t, tensor.Shape{10}, m.OutputShape())
	shapes := paramShapes(m)
	assert.Equal(t, tensor.Shape{24, 1, 3, 3}, shapes["0.weight"])
	assert.Equal(t, tensor.Shape{24, 24, 3, 3}, shapes["4.body.3.weight"])
	assert.Equal(t, tensor.Shape{48, 24, 3, 3}, shapes["6.body.0.weight"])
	assert.Equal(t, tensor.Shape{48, 24, 1, 1}, shapes["6.shortcut.0.weight"])
	assert.Equal(t, tensor.Shape{10, 48}, shapes["10.weight"], "global pooling is two PyTorch modules (8, 9)")
	n := m.TrainableCount()
	assert.InDelta(t, 44000, n, 2000, "about 44 000 parameters, as the doc says")
	back, err := nn.SpecOf(m)
	require.NoError(t, err)
	assert.Equal(t, s, back)

	_, err = nn.ResNetSpec([]int{784}, 10)
	assert.ErrorContains(t, err, "the resnet model takes images")
	_, err = nn.ResNetSpec([]int{1, 7, 28}, 10)
	assert.ErrorContains(t, err, "at least 8×8 pixels, got 7×28")
}
