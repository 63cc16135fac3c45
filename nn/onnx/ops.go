package onnx

import (
	"fmt"
	"math"
)

// The helpers below are the few-node patterns that layers' exports share. Each reads
// its input value x, adds its nodes in g's scope and returns its output's name. Shapes
// are written row-major, the batch first.

// Dense is a fully connected layer on x (N, In): Gemm(x, w, b, transB=1) = x·wᵀ + b
// with w (Out, In) in PyTorch's layout and b (Out) or "" for none.
func Dense(g *Graph, x, w, b string) string {
	in := []string{x, w}
	if b != "" {
		in = append(in, b)
	}
	return g.Node("Gemm", in, Int("transB", 1))
}

// Linear is a fully connected layer on the last axis of x (…, In), of any rank:
// MatMul(x, Transpose(w)) + b, w (Out, In), b (Out) or "" for none. (Runtimes fold the
// weight's Transpose once.)
func Linear(g *Graph, x, w, b string) string {
	y := g.Node("MatMul", []string{x, g.Node("Transpose", []string{w}, Ints("perm", 1, 0))})
	if b == "" {
		return y
	}
	return g.Node("Add", []string{y, b})
}

// Gelu is the exact GELU, x·Φ(x) = 0.5·x·(1 + erf(x/√2)): the Gelu op from opset 20,
// its decomposition into Div, Erf, Add and Mul before.
func Gelu(g *Graph, x string) string {
	if g.Opset() >= 20 {
		return g.Node("Gelu", []string{x})
	}
	e := g.Node("Erf", []string{g.Node("Div", []string{x, g.Const("sqrt2", nil, float32(math.Sqrt2))})})
	one := g.Node("Add", []string{e, g.Const("one", nil, 1)})
	return g.Node("Mul", []string{g.Node("Mul", []string{x, g.Const("half", nil, 0.5)}), one})
}

// GeluTanh is GELU's tanh approximation, 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))):
// the Gelu op with approximate="tanh" from opset 20, its decomposition before.
func GeluTanh(g *Graph, x string) string {
	if g.Opset() >= 20 {
		return g.Node("Gelu", []string{x}, String("approximate", "tanh"))
	}
	x3 := g.Node("Mul", []string{g.Node("Mul", []string{x, x}), x})
	u := g.Node("Add", []string{x, g.Node("Mul", []string{x3, g.Const("c", nil, 0.044715)})})
	t := g.Node("Tanh", []string{g.Node("Mul", []string{u, g.Const("sqrt_2_over_pi", nil, float32(math.Sqrt(2/math.Pi)))})})
	one := g.Node("Add", []string{t, g.Const("one", nil, 1)})
	return g.Node("Mul", []string{g.Node("Mul", []string{x, g.Const("half", nil, 0.5)}), one})
}

// BatchNorm is BatchNormalization in inference form on x (N, C, …): (x - mean)/√(var +
// eps)·scale + bias per channel, with the running statistics.
func BatchNorm(g *Graph, x, scale, bias, mean, variance string, eps float32) string {
	return g.Node("BatchNormalization", []string{x, scale, bias, mean, variance}, Float("epsilon", eps))
}

// LayerNorm is LayerNormalization over the last axis of x: (x - μ)/√(σ² + eps)·scale + bias.
func LayerNorm(g *Graph, x, scale, bias string, eps float32) string {
	return g.Node("LayerNormalization", []string{x, scale, bias}, Int("axis", -1), Float("epsilon", eps))
}

// Embedding looks up the rows of table (V, C) at the int64 indices ids (any shape S):
// Gather(table, ids, axis 0), of shape S×C.
func Embedding(g *Graph, table, ids string) string {
	return g.Node("Gather", []string{table, ids}, Int("axis", 0))
}

// CausalSoftmax is the softmax over the last axis of attention scores (…, T, T) in
// which position i sees positions j <= i only: the scores above the diagonal are
// replaced with -∞ (Where with a lower-triangular mask made by Trilu from the scores'
// own shape, so T stays dynamic), then Softmax.
func CausalSoftmax(g *Graph, scores string) string {
	tt := g.Node("Shape", []string{scores}, Int("start", -2))
	ones := g.Node("ConstantOfShape", []string{tt}, TensorAttr("value", []int{1}, []float32{1}))
	mask := g.Node("Cast", []string{g.Node("Trilu", []string{ones}, Int("upper", 0))}, Int("to", int(Bool)))
	masked := g.Node("Where", []string{mask, scores, g.Const("neg_inf", nil, float32(math.Inf(-1)))})
	return g.Node("Softmax", []string{masked}, Int("axis", -1))
}

// RNNWeights are one recurrent layer's weights (one direction) in PyTorch's layout,
// that of torch.nn.LSTM and torch.nn.GRU: WeightIH (G·Hidden, Input), WeightHH
// (G·Hidden, Hidden), BiasIH and BiasHH (G·Hidden, nil for none), with the G gate
// blocks in PyTorch's order: LSTM i, f, g, o (G = 4); GRU r, z, n (G = 3).
type RNNWeights struct {
	Input, Hidden                      int
	WeightIH, WeightHH, BiasIH, BiasHH []float32
}

// The gate orders: ONNX's LSTM is i, o, f, c and its GRU z, r, h; a layer written in
// PyTorch's orders moves its blocks so.
var (
	lstmToONNX = []int{0, 3, 1, 2} // PyTorch i, f, g, o → ONNX i, o, f, c(=g)
	gruToONNX  = []int{1, 0, 2}    // PyTorch r, z, n → ONNX z, r, h(=n)
)

// ReorderGates returns w, made of len(order) equal blocks of rows (gate blocks), with
// block i of the result taken from block order[i] of w.
func ReorderGates(w []float32, order []int) []float32 {
	out := make([]float32, 0, len(w))
	n := len(w) / len(order)
	for _, o := range order {
		out = append(out, w[o*n:(o+1)*n]...)
	}
	return out
}

// rnn adds an ONNX LSTM or GRU node over x, (N, T, Input) when batchFirst, else (T, N,
// Input), and returns Y in x's layout, (N, T, Hidden) or (T, N, Hidden), and the last
// hidden (and for an LSTM cell) state (N, Hidden). ONNX's recurrent ops take (T, N, ·)
// and give Y (T, 1, N, Hidden); Transpose and Squeeze convert.
func rnn(g *Graph, op string, x string, w RNNWeights, gates int, order []int, batchFirst bool, attrs ...Attr) (string, []string) {
	gh := gates * w.Hidden
	if len(w.WeightIH) != gh*w.Input || len(w.WeightHH) != gh*w.Hidden ||
		(w.BiasIH != nil && len(w.BiasIH) != gh) || (w.BiasHH != nil && len(w.BiasHH) != gh) {
		g.Fail(fmt.Errorf("onnx: %s %q: weights of %d, %d, %d and %d values do not fit input %d and hidden %d (want %d·%d gates)",
			op, g.Prefix(), len(w.WeightIH), len(w.WeightHH), len(w.BiasIH), len(w.BiasHH), w.Input, w.Hidden, gates, w.Hidden))
		return x, []string{x, x}
	}
	W := g.Initializer("W", []int{1, gh, w.Input}, ReorderGates(w.WeightIH, order))
	R := g.Initializer("R", []int{1, gh, w.Hidden}, ReorderGates(w.WeightHH, order))
	B := ""
	if w.BiasIH != nil || w.BiasHH != nil {
		b := make([]float32, 2*gh)
		if w.BiasIH != nil {
			copy(b, ReorderGates(w.BiasIH, order))
		}
		if w.BiasHH != nil {
			copy(b[gh:], ReorderGates(w.BiasHH, order))
		}
		B = g.Initializer("B", []int{1, 2 * gh}, b)
	}
	if batchFirst {
		x = g.Node("Transpose", []string{x}, Ints("perm", 1, 0, 2))
	}
	outputs := 2 // GRU: Y, Y_h
	if op == "LSTM" {
		outputs = 3 // Y, Y_h, Y_c
	}
	outs := g.NodeN(op, []string{x, W, R, B}, outputs,
		append([]Attr{Int("hidden_size", w.Hidden), String("direction", "forward")}, attrs...)...)
	y := g.Node("Squeeze", []string{outs[0], g.Int64s("axis1", []int{1}, 1)})
	if batchFirst {
		y = g.Node("Transpose", []string{y}, Ints("perm", 1, 0, 2))
	}
	axis0 := g.Int64s("axis0", []int{1}, 0)
	var states []string
	for _, s := range outs[1:] {
		states = append(states, g.Node("Squeeze", []string{s, axis0}))
	}
	return y, states
}

// LSTM is a one-layer, one-direction LSTM over x with PyTorch's equations and weights
// (w, gates i, f, g, o), as ONNX's LSTM op (gates i, o, f, c; the weights are
// reordered into initializers W, R and B of the scope). It returns the hidden states
// y (x's layout: (N, T, Hidden) when batchFirst, else (T, N, Hidden)) and the last
// hidden and cell states h, c (N, Hidden). The initial states are zeros.
func LSTM(g *Graph, x string, w RNNWeights, batchFirst bool) (y, h, c string) {
	y, s := rnn(g, "LSTM", x, w, 4, lstmToONNX, batchFirst)
	return y, s[0], s[1]
}

// GRU is a one-layer, one-direction GRU over x with PyTorch's equations and weights
// (w, gates r, z, n), as ONNX's GRU op with linear_before_reset=1 (PyTorch applies the
// reset gate after the hidden state's linear map: n = tanh(W_in·x + b_in + r⊙(W_hn·h +
// b_hn))). It returns y as LSTM does and the last hidden state h (N, Hidden).
func GRU(g *Graph, x string, w RNNWeights, batchFirst bool) (y, h string) {
	y, s := rnn(g, "GRU", x, w, 3, gruToONNX, batchFirst, Int("linear_before_reset", 1))
	return y, s[0]
}
