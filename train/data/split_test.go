package data

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorgonia.org/tensor"
)

// tenSplit is 10 examples of 2×3 pixels; example i has pixels 6i+1 .. 6i+6 and label i.
func tenSplit() Split {
	return Split{Images: seq(60), Labels: []uint8{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, N: 10, H: 2, W: 3}
}

func TestSplitHeadTail(t *testing.T) {
	s := tenSplit()
	h := s.Head(3)
	assert.Equal(t, Split{Images: seq(18), Labels: []uint8{0, 1, 2}, N: 3, H: 2, W: 3}, h)
	tl := s.Tail(2)
	assert.Equal(t, Split{Images: seq(60)[48:], Labels: []uint8{8, 9}, N: 2, H: 2, W: 3}, tl)

	assert.Equal(t, s, s.Head(10))
	assert.Equal(t, s, s.Head(99))
	assert.Equal(t, s, s.Tail(99))
	for _, n := range []int{0, -4} {
		assert.Equal(t, 0, s.Head(n).N)
		assert.Empty(t, s.Head(n).Images)
		assert.Equal(t, 0, s.Tail(n).N)
		assert.Empty(t, s.Tail(n).Labels)
		require.NoError(t, s.Head(n).Validate())
	}

	// The parts share memory with s, but appending to a head cannot overwrite the rest.
	h.Images[0] = 200
	assert.Equal(t, uint8(200), s.Images[0])
	_ = append(h.Labels, 77)
	assert.Equal(t, uint8(3), s.Labels[3])

	// An inconsistent split gives inconsistent parts, never a panic.
	bad := Split{Images: seq(5), Labels: []uint8{1}, N: 4, H: 2, W: 3}
	assert.NotPanics(t, func() { bad.Head(3); bad.Tail(3); bad.Head(-1) })
	assert.Error(t, bad.Head(3).Validate())
	neg := Split{Images: seq(5), N: -3, H: -1, W: 7}
	assert.NotPanics(t, func() { neg.Head(2); neg.Tail(2) })
}

func TestSplitLast(t *testing.T) {
	s := tenSplit()
	cases := []struct {
		frac       float64
		nTrain     int
		firstValID uint8
	}{{0.2, 8, 8}, {0.1, 9, 9}, {0.5, 5, 5}, {0.25, 7, 7}, {0.99, 0, 0}}
	for _, c := range cases {
		train, val, err := s.SplitLast(c.frac)
		require.NoError(t, err, c.frac)
		assert.Equal(t, c.nTrain, train.N, c.frac)
		assert.Equal(t, 10-c.nTrain, val.N, c.frac)
		require.NoError(t, train.Validate())
		require.NoError(t, val.Validate())
		assert.Equal(t, c.firstValID, val.Labels[0], c.frac)
		assert.Equal(t, s.Labels[c.nTrain:], val.Labels, c.frac)
		assert.Equal(t, s.Images[6*c.nTrain:], val.Images, c.frac)
		assert.Equal(t, s.Images[:6*c.nTrain], train.Images, c.frac)
	}

	train, val, err := s.SplitLast(0)
	require.NoError(t, err)
	assert.Equal(t, s, train)
	assert.Equal(t, 0, val.N)

	// MNIST's 60000 with Keras's validation_split=0.1: 54000 + 6000.
	big := Split{Images: make([]uint8, 60000), Labels: make([]uint8, 60000), N: 60000, H: 1, W: 1}
	train, val, err = big.SplitLast(0.1)
	require.NoError(t, err)
	assert.Equal(t, 54000, train.N)
	assert.Equal(t, 6000, val.N)

	for _, frac := range []float64{-0.1, 1, 1.5, math.NaN(), math.Inf(1)} {
		_, _, err := s.SplitLast(frac)
		require.Error(t, err, frac)
		assert.Contains(t, err.Error(), "data: split: validation fraction ", frac)
		assert.Contains(t, err.Error(), "is outside [0, 1)", frac)
	}
	_, _, err = Split{Images: seq(5), Labels: []uint8{1}, N: 1, H: 2, W: 3}.SplitLast(0.5)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "data: split: 5 image bytes, want N×H×W = 1×2×3 = 6")
}

func TestSplitValidate(t *testing.T) {
	require.NoError(t, tenSplit().Validate())
	require.NoError(t, Split{}.Validate())
	cases := []struct {
		s    Split
		want string
	}{
		{Split{N: -1}, "data: split: negative size N=-1 H=0 W=0"},
		{Split{Images: seq(59), Labels: make([]uint8, 10), N: 10, H: 2, W: 3}, "59 image bytes, want N×H×W = 10×2×3 = 60"},
		{Split{Images: seq(60), Labels: make([]uint8, 9), N: 10, H: 2, W: 3}, "9 labels, want N = 10"},
		{Split{N: math.MaxInt / 2, H: 2, W: 3}, "overflows int"},
	}
	for _, c := range cases {
		err := c.s.Validate()
		require.Error(t, err)
		assert.Contains(t, err.Error(), c.want)
	}
}

func TestSplitDense(t *testing.T) {
	s := tenSplit()
	s.Labels[4] = 250 // above int8, to catch a signed conversion
	x, y, err := s.Dense()
	require.NoError(t, err)
	assert.Equal(t, tensor.Shape{10, 6}, x.Shape())
	assert.Equal(t, tensor.Uint8, x.Dtype())
	assert.Equal(t, tensor.Shape{10}, y.Shape())
	assert.Equal(t, tensor.Int32, y.Dtype())
	for i := range s.N {
		for j := range 6 {
			v, err := x.At(i, j)
			require.NoError(t, err)
			assert.Equal(t, s.Images[i*6+j], v, "x[%d,%d]", i, j)
		}
		v, err := y.At(i)
		require.NoError(t, err)
		assert.Equal(t, int32(s.Labels[i]), v, "y[%d]", i)
	}
	assert.Equal(t, int32(250), y.Data().([]int32)[4])

	_, _, err = Split{H: 28, W: 28}.Dense()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "data: split: cannot make a tensor of an empty split (N=0 H=28 W=28)")
	_, _, err = Split{Images: seq(5), Labels: []uint8{1}, N: 1, H: 2, W: 3}.Dense()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "data: split: 5 image bytes")
}
