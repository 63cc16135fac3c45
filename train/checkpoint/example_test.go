package checkpoint_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	gt "gorgonia.org/tensor"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/train"
	"github.com/gputrain/gputrain/train/checkpoint"
)

// twoBlobs is a small two-class data set of 4 features.
func twoBlobs(n int) train.Dataset {
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, n*4)
	y := make([]int32, n)
	for i := range y {
		y[i] = int32(i % 2)
		for j := 0; j < 4; j++ {
			x[i*4+j] = float32(rng.NormFloat64()) + 3*float32(y[i])
		}
	}
	return train.Dataset{X: gt.New(gt.WithShape(n, 4), gt.WithBacking(x)), Y: gt.New(gt.WithShape(n), gt.WithBacking(y))}
}

// A saved run predicts without the code that made it: the checkpoint holds the model's
// description, and LoadModel rebuilds the model (no Trainer, loss or optimizer).
func ExampleCheckpoint_LoadModel() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "run.safetensors")
	data := twoBlobs(200)

	tr := &train.Trainer{Model: nn.NewSequential(nn.NewDense(8, nn.ReLU), nn.NewDense(2, nn.Softmax)),
		Loss: &nn.SparseCategoricalCrossEntropy{}, Optimizer: train.NewAdam(), Dev: cpu.New(cpu.Options{}), Seed: 1}
	if _, err := tr.Fit(data, train.Config{Epochs: 5}); err != nil {
		fmt.Println(err)
		return
	}
	if err := checkpoint.Save(path, tr, checkpoint.Settings{}); err != nil {
		fmt.Println(err)
		return
	}

	// Later, elsewhere:
	ck, err := checkpoint.Open(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	model, err := ck.LoadModel(cpu.New(cpu.Options{}), 64)
	if err != nil {
		fmt.Println(err)
		return
	}
	probs, err := model.Predict(data.X)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(model.InputShape(), "→", model.OutputShape(), "for", probs.Shape()[0], "examples")
	// Output:
	// (4) → (2) for 200 examples
}

// Fine-tuning: initialize from another run's weights (or PyTorch's) by name, freeze the
// body, train the head.
func ExampleLoadWeights() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	base := filepath.Join(dir, "base.safetensors")
	body := func() *nn.Sequential {
		return nn.NewSequential(nn.NewDense(8, nn.ReLU), nn.NewDense(8, nn.ReLU), nn.NewDense(2, nn.Softmax))
	}
	tr := &train.Trainer{Model: body(), Loss: &nn.SparseCategoricalCrossEntropy{}, Optimizer: train.NewAdam(),
		Dev: cpu.New(cpu.Options{}), Seed: 1}
	if _, err := tr.Fit(twoBlobs(200), train.Config{Epochs: 2}); err != nil {
		fmt.Println(err)
		return
	}
	if err := checkpoint.Save(base, tr, checkpoint.Settings{}); err != nil {
		fmt.Println(err)
		return
	}

	tune := &train.Trainer{Model: body(), Loss: &nn.SparseCategoricalCrossEntropy{}, Optimizer: train.NewAdam(),
		Dev: cpu.New(cpu.Options{}), Seed: 2}
	if err := tune.Build([]int{4}); err != nil {
		fmt.Println(err)
		return
	}
	report, err := checkpoint.LoadWeights(tune.Net(), base, false)
	if err != nil {
		fmt.Println(err)
		return
	}
	frozen, err := tune.Net().Freeze("0", "2")
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := tune.Fit(twoBlobs(100), train.Config{Epochs: 1}); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("loaded:", report.Loaded)
	fmt.Println("frozen:", frozen)
	fmt.Println("trained:", tune.Net().TrainableCount(), "values")
	// Output:
	// loaded: [0.bias 0.weight 2.bias 2.weight 4.bias 4.weight]
	// frozen: [0.weight 0.bias 2.weight 2.bias]
	// trained: 18 values
}
