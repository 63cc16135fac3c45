package nn

import "fmt"

// MLPSpec describes a multilayer perceptron on flat inputs of the given width: one
// Dense layer with ReLU for each width in hidden, then a Dense softmax layer of classes
// units. MLPSpec(784, []int{128, 64}, 10) is the reference MNIST model.
func MLPSpec(inputs int, hidden []int, classes int) *Spec {
	seq := &Sequential{}
	for _, h := range hidden {
		seq.Layers = append(seq.Layers, &Dense{Units: h, Act: ReLU})
	}
	seq.Layers = append(seq.Layers, &Dense{Units: classes, Act: Softmax})
	return &Spec{Input: []int{inputs}, Root: seq}
}

// CNNSpec describes the LeNet-style convolutional network for images of shape
// in = (channels, height, width), at least 12×12 pixels:
//
//	conv 5×5, 16 filters, padding 2 → batchnorm → relu → maxpool 2×2
//	conv 5×5, 32 filters            → batchnorm → relu → maxpool 2×2
//	flatten → dense 128 relu → dropout 0.3 → dense classes softmax
//
// For 28×28 grey images that is 32·5·5 = 800 features after the convolutions, about
// 117 000 parameters and 1.7 million multiply-adds per image. Batch normalisation lets
// Adam's default learning rate train it in a few epochs; dropout keeps the dense layer
// from memorising the training set. Measured accuracies are in docs/cnn.md: with 8
// and 16 filters the same network reached 99.1% on MNIST but 89.7% on Fashion-MNIST
// after 10 epochs. The error reports an input that is not (C, H, W) or images too
// small for the two 2×2 poolings.
func CNNSpec(in []int, classes int) (*Spec, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("nn: the cnn model takes images (channels, height, width), got examples of shape %v", in)
	}
	if in[1] < 12 || in[2] < 12 {
		return nil, fmt.Errorf("nn: the cnn model takes images of at least 12×12 pixels, got %d×%d", in[1], in[2])
	}
	return &Spec{Input: append([]int(nil), in...), Root: NewSequential(
		&Conv2D{Filters: 16, Kernel: 5, Padding: 2},
		&BatchNorm{},
		NewActivation(ReLU),
		NewMaxPool2D(2),
		&Conv2D{Filters: 32, Kernel: 5},
		&BatchNorm{},
		NewActivation(ReLU),
		NewMaxPool2D(2),
		NewFlatten(),
		NewDense(128, ReLU),
		NewDropout(0.3),
		NewDense(classes, Softmax),
	)}, nil
}

// ResNetSpec describes a small residual network for images of shape in = (channels,
// height, width), at least 8×8 pixels:
//
//	stem:    conv 3×3, 24 filters, padding 1 → maxpool 2×2 → batchnorm → relu
//	block 1: residual(conv 3×3 24 → bn → relu → conv 3×3 24 → bn) → relu
//	block 2: residual(conv 3×3 48 stride 2 → bn → relu → conv 3×3 48 → bn,
//	                  shortcut: conv 1×1 48 stride 2 → bn) → relu
//	head:    global average pooling → dense classes softmax
//
// the post-activation basic blocks of He et al. (2015), sized for 28×28 images: about
// 44 000 parameters and 3.8 million multiply-adds per image, about twice the cnn
// preset's, so that a CPU epoch costs at most three times as much (docs/cnn.md). The
// stem pools before it normalizes: batch norm and ReLU then run on the 14×14 map, a
// quarter of the 28×28 one, which cut the CPU epoch by a tenth on a quiet machine and a
// sixth on a loaded one (max pooling commutes with ReLU, and with batch norm wherever
// its scale is positive). Its JSON form
// is examples/models/resnet.json.
func ResNetSpec(in []int, classes int) (*Spec, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("nn: the resnet model takes images (channels, height, width), got examples of shape %v", in)
	}
	if in[1] < 8 || in[2] < 8 {
		return nil, fmt.Errorf("nn: the resnet model takes images of at least 8×8 pixels, got %d×%d", in[1], in[2])
	}
	conv := func(filters, kernel, stride int) *Conv2D {
		return &Conv2D{Filters: filters, Kernel: kernel, Stride: stride, Padding: kernel / 2}
	}
	block := func(filters, stride int, project bool) *Residual {
		r := &Residual{Body: NewSequential(
			conv(filters, 3, stride), &BatchNorm{}, NewActivation(ReLU),
			conv(filters, 3, 1), &BatchNorm{},
		)}
		if project {
			r.Shortcut = NewSequential(conv(filters, 1, stride), &BatchNorm{})
		}
		return r
	}
	return &Spec{Input: append([]int(nil), in...), Root: NewSequential(
		conv(24, 3, 1), NewMaxPool2D(2), &BatchNorm{}, NewActivation(ReLU),
		block(24, 1, false), NewActivation(ReLU),
		block(48, 2, true), NewActivation(ReLU),
		&GlobalAvgPool{},
		NewDense(classes, Softmax),
	)}, nil
}

// RecurrentSpec describes a sequence classifier: layers recurrent layers of hidden
// units of the given cell ("lstm" or "gru", PyTorch's nn.LSTM or nn.GRU with
// batch_first), then a dense softmax layer of classes units on the last state:
//
//	lstm(hidden, layers, last) → dense classes softmax
//
// Examples of shape in are read as sequences: a grey image (1, H, W) row by row, H
// steps of W pixels (row-sequential MNIST: 28 steps of 28 pixels); a sequence (T, F)
// as it is; flat features (F) as F steps of one value. Its parameters are named as
// torch.nn.Sequential(LSTM, Linear) would have them, but for the LSTM's tuple output:
// "0.weight_ih_l0" …, "1.weight", "1.bias". The error names a cell it does not know,
// or examples of another shape (colour images).
func RecurrentSpec(cell string, hidden, layers int, in []int, classes int) (*Spec, error) {
	var rnn Module
	switch cell {
	case "lstm":
		rnn = NewLSTM(hidden, layers, true)
	case "gru":
		rnn = NewGRU(hidden, layers, true)
	default:
		return nil, fmt.Errorf("nn: recurrent model: unknown cell %q (want lstm or gru)", cell)
	}
	var seq []int
	switch {
	case len(in) == 3 && in[0] == 1:
		seq = []int{in[1], in[2]}
	case len(in) == 2:
		seq = []int{in[0], in[1]}
	case len(in) == 1:
		seq = []int{in[0], 1}
	default:
		return nil, fmt.Errorf("nn: the %s model reads grey images (1, height, width) row by row, sequences (steps, features) or flat features, got examples of shape %v", cell, in)
	}
	return &Spec{Input: seq, Root: NewSequential(rnn, NewDense(classes, Softmax))}, nil
}

// RecurrentLMSpec describes the character-level language model of the cell ("lstm" or
// "gru") for windows of context ids of a vocabulary of vocab: an embedding of the ids
// into hidden values, layers recurrent layers of hidden units over the window, and a
// Linear head giving every step's next-id logits, (context, vocab):
//
//	embedding(vocab, hidden) → lstm(hidden, layers) → linear vocab
//
// named as torch's Embedding, LSTM (or GRU, batch_first) and Linear held by the
// attributes "0", "1" and "2": "0.weight", "1.weight_ih_l0" …, "2.weight", "2.bias".
func RecurrentLMSpec(cell string, hidden, layers, vocab, context int) (*Spec, error) {
	var rnn Module
	switch cell {
	case "lstm":
		rnn = NewLSTM(hidden, layers, false)
	case "gru":
		rnn = NewGRU(hidden, layers, false)
	default:
		return nil, fmt.Errorf("nn: recurrent language model: unknown cell %q (want lstm or gru)", cell)
	}
	return &Spec{Input: []int{context}, Root: NewSequential(NewEmbedding(vocab, hidden), rnn, NewLinearLayer(vocab))}, nil
}
