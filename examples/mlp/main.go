// Command mlp trains the reference MNIST model, a multilayer perceptron, with the
// library API, the way Keras' Sequential and fit do:
//
//	go run ./examples/mlp -data data/mnist
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/train"
	"github.com/gputrain/gputrain/train/data"

	_ "github.com/gputrain/gputrain/cpu" // the backends register themselves
	_ "github.com/gputrain/gputrain/device/cuda"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "mlp:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("mlp", flag.ContinueOnError)
	dir := fs.String("data", data.DefaultMNISTDir, "folder of the MNIST IDX files")
	epochs := fs.Int("epochs", 10, "epochs")
	limit := fs.Int("limit", 0, "use the first N examples of each split only (0: all), for quick runs")
	if err := fs.Parse(args); err != nil {
		return err
	}

	// The data: 60 000 training and 10 000 test images, flattened to 784 values.
	set, err := data.Load("mnist", data.LoadOptions{Dir: *dir})
	if err != nil {
		return err
	}
	trainSet, err := set.Train.Reshape(784)
	if err != nil {
		return err
	}
	testSet, err := set.Test.Reshape(784)
	if err != nil {
		return err
	}
	if *limit > 0 {
		if trainSet, err = trainSet.Head(*limit); err != nil {
			return err
		}
		if testSet, err = testSet.Head(*limit); err != nil {
			return err
		}
	}

	// The model: 784 → 128 → 64 → 10.
	model := nn.NewSequential(
		nn.NewDense(128, nn.ReLU),
		nn.NewDense(64, nn.ReLU),
		nn.NewDense(10, nn.Softmax),
	)

	dev, err := device.Open("auto", device.Options{})
	if err != nil {
		return err
	}
	defer dev.Close()
	t := &train.Trainer{Model: model, Loss: &nn.SparseCategoricalCrossEntropy{}, Optimizer: train.NewAdam(),
		Dev: dev, BatchSize: 32, Seed: 1}
	hist, err := t.Fit(train.Dataset{X: trainSet.X, Y: trainSet.Y}, train.Config{
		Epochs: *epochs, ValidationSplit: 0.1,
		OnEpoch: func(e train.EpochStats) {
			fmt.Fprintf(out, "epoch %d: loss %.4f acc %.4f val_loss %.4f val_acc %.4f\n", e.Epoch, e.Loss, e.Accuracy, e.ValLoss, e.ValAccuracy)
		},
	})
	if err != nil {
		return err
	}
	res, err := t.Evaluate(train.Dataset{X: testSet.X, Y: testSet.Y})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "test accuracy %.4f\n%s\n", res.Accuracy, hist.Diagnose())
	return nil
}
