package nn_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/tensor"
)

// A LinearLayer built in a lower precision runs its three GEMMs on operands rounded to
// that precision (x, W and dy; float32 accumulation, float32 bias and outputs): its
// forward output, dW, db and dx equal float64 sums over the rounded operands, and
// differ from the float32 layer's by far more than the tolerance, so a layer that
// ignored the precision would fail.
func TestLinearLayerPrecision(t *testing.T) {
	const batch, rows, in, out = 3, 4, 24, 5
	for _, p := range []device.Precision{device.TF32, device.BF16, device.FP16} {
		t.Run(p.String(), func(t *testing.T) {
			dev := newDev(t)
			ctx := nn.NewContext(dev, batch, 3)
			ctx.Layer, ctx.Precision = 1, p // not a first layer: it makes dx
			l := &nn.LinearLayer{Out: out}
			_, err := l.Build(ctx, tensor.Shape{rows, in})
			require.NoError(t, err)
			if p.Half().IsHalf() {
				require.NotNil(t, l.Weight().Half, "%s: W has a 16-bit copy", p)
			} else {
				require.Nil(t, l.Weight().Half)
			}
			rng := rand.New(rand.NewPCG(5, 9))
			xv := randn(rng, batch*rows*in, 1)
			x, err := tensor.FromFloat32(dev, xv, batch, rows, in)
			require.NoError(t, err)
			dyv := randn(rng, batch*rows*out, 1)
			dy, err := tensor.FromFloat32(dev, dyv, batch, rows, out)
			require.NoError(t, err)
			w, b := read(t, l.Weight().Value), read(t, l.Bias().Value)

			y, err := l.Forward(x, true)
			require.NoError(t, err)
			yv := read(t, y)
			dx, err := l.Backward(dy, true)
			require.NoError(t, err)
			dxv, dwv, dbv := read(t, dx), read(t, l.Weight().Grad), read(t, l.Bias().Grad)

			r := func(v float32, round bool) float64 {
				if round {
					return float64(p.Round(v))
				}
				return float64(v)
			}
			n := batch * rows
			// want(round) are the float64 results over rounded operands, or exact ones
			want := func(round bool) (yw, dxw, dww, dbw []float64) {
				yw, dxw, dww, dbw = make([]float64, n*out), make([]float64, n*in), make([]float64, out*in), make([]float64, out)
				for i := range n {
					for o := range out {
						s := float64(b[o])
						for k := range in {
							s += r(xv[i*in+k], round) * r(w[o*in+k], round)
						}
						yw[i*out+o] = s
						dbw[o] += float64(dyv[i*out+o])
						for k := range in {
							dxw[i*in+k] += r(dyv[i*out+o], round) * r(w[o*in+k], round)
							dww[o*in+k] += r(dyv[i*out+o], round) * r(xv[i*in+k], round)
						}
					}
				}
				return yw, dxw, dww, dbw
			}
			yr, dxr, dwr, dbr := want(true)
			ye, dxe, dwe, _ := want(false)
			for _, c := range []struct {
				name              string
				got               []float32
				rounded, exact    []float64
				mustDifferExactly bool
			}{
				{"y", yv, yr, ye, true}, {"dx", dxv, dxr, dxe, true}, {"dW", dwv, dwr, dwe, true}, {"db", dbv, dbr, dbr, false},
			} {
				far := 0.0
				for i, g := range c.got {
					assert.InDelta(t, c.rounded[i], float64(g), 2e-5*(1+math.Abs(c.rounded[i])), "%s %s[%d]", p, c.name, i)
					far = max(far, math.Abs(c.rounded[i]-c.exact[i]))
				}
				if c.mustDifferExactly {
					assert.Greater(t, far, 1e-4, "%s %s: the rounded operands must change the result (the test's own check)", p, c.name)
				}
			}
		})
	}
}
