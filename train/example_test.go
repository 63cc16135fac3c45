package train_test

import (
	"fmt"
	"math/rand/v2"

	gt "gorgonia.org/tensor"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/train"
)

// quadrants makes n points of the plane labelled 1 where x·y > 0 and 0 elsewhere: no
// straight line separates the classes, a hidden layer must.
func quadrants(seed uint64, n int) train.Dataset {
	rng := rand.New(rand.NewPCG(seed, 2))
	x := make([]float32, 2*n)
	y := make([]int32, n)
	for i := range n {
		a, b := 2*rng.Float64()-1, 2*rng.Float64()-1
		x[2*i], x[2*i+1] = float32(a), float32(b)
		if a*b > 0 {
			y[i] = 1
		}
	}
	return train.Dataset{X: gt.New(gt.WithShape(n, 2), gt.WithBacking(x)), Y: gt.New(gt.WithShape(n), gt.WithBacking(y))}
}

// Fit trains a model on host arrays, as Keras' fit does; Evaluate scores it. The model
// is any tree of modules: here a residual block between two dense layers.
func ExampleTrainer_Fit() {
	dev := cpu.New(cpu.Options{Threads: 1})
	defer dev.Close()
	t := &train.Trainer{
		Model: nn.NewSequential(
			nn.NewDense(16, nn.Tanh),
			nn.NewResidual(nn.NewDense(16, nn.Tanh)), // y = x + tanh(W·x + b)
			nn.NewDense(2, nn.Softmax),
		),
		Loss:      &nn.SparseCategoricalCrossEntropy{},
		Optimizer: train.NewAdam(),
		Dev:       dev,
		BatchSize: 16,
		Seed:      1,
	}
	t.Optimizer.SetLearningRate(0.01)
	hist, err := t.Fit(quadrants(1, 800), train.Config{Epochs: 30, ValidationSplit: 0.2})
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := t.Evaluate(quadrants(2, 400))
	if err != nil {
		fmt.Println(err)
		return
	}
	probs, err := t.Net().Predict(quadrants(3, 5).X) // (5, 2) class probabilities
	if err != nil {
		fmt.Println(err)
		return
	}
	first, last := hist.Epochs[0], hist.Epochs[len(hist.Epochs)-1]
	fmt.Println("epochs:", len(hist.Epochs))
	fmt.Println("the loss fell:", last.Loss < first.Loss/3)
	fmt.Println("test accuracy above 90%:", res.Accuracy > 0.9)
	fmt.Println("predictions:", probs.Shape())
	fmt.Println("parameters:", t.Net().Names())
	// Output:
	// epochs: 30
	// the loss fell: true
	// test accuracy above 90%: true
	// predictions: (5, 2)
	// parameters: [0.bias 0.weight 2.body.bias 2.body.weight 3.bias 3.weight]
}

// Diagnose reads a history as a practitioner would: here the validation loss rises
// while the training loss falls.
func ExampleHistory_Diagnose() {
	h := &train.History{Classifies: true}
	for i, v := range []float64{0.30, 0.25, 0.26, 0.31} {
		h.Epochs = append(h.Epochs, train.EpochStats{Epoch: i + 1, Loss: 0.3 / float64(i+1), Accuracy: 0.95, HasValidation: true,
			ValLoss: v, ValAccuracy: 0.93})
	}
	fmt.Println(h.Diagnose().Verdict)
	fmt.Println(h.Diagnose().Reason)
	// Output:
	// over-fitting
	// validation loss was lowest at epoch 2 (0.2500) and has risen to 0.3100 while the training loss kept falling
}
