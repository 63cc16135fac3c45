// Command cnn trains a LeNet-style convolutional network on MNIST or Fashion-MNIST with
// the library API, optionally augmenting the training images with random shifts:
//
//	go run ./examples/cnn -data data/mnist
//	go run ./examples/cnn -dataset fashion-mnist -augment 2
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
		fmt.Fprintln(os.Stderr, "cnn:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("cnn", flag.ContinueOnError)
	name := fs.String("dataset", "mnist", "mnist or fashion-mnist")
	dir := fs.String("data", "", "folder of the IDX files (default: the data set's usual place)")
	epochs := fs.Int("epochs", 10, "epochs")
	augment := fs.Int("augment", 0, "shift training images at random by up to N pixels")
	limit := fs.Int("limit", 0, "use the first N examples of each split only (0: all), for quick runs")
	if err := fs.Parse(args); err != nil {
		return err
	}

	// The data: images of shape (1, 28, 28).
	set, err := data.Load(*name, data.LoadOptions{Dir: *dir})
	if err != nil {
		return err
	}
	trainSet, testSet := set.Train, set.Test
	if *limit > 0 {
		if trainSet, err = trainSet.Head(*limit); err != nil {
			return err
		}
		if testSet, err = testSet.Head(*limit); err != nil {
			return err
		}
	}

	// The model. Mirroring suits clothes, not digits (set.Mirror says which).
	var layers []nn.Layer
	if *augment > 0 {
		layers = append(layers, nn.NewRandomShift(*augment, set.Mirror))
	}
	layers = append(layers,
		&nn.Conv2D{Filters: 16, Kernel: 5, Padding: 2}, nn.NewBatchNorm(), nn.NewActivation(nn.ReLU), nn.NewMaxPool2D(2),
		&nn.Conv2D{Filters: 32, Kernel: 5}, nn.NewBatchNorm(), nn.NewActivation(nn.ReLU), nn.NewMaxPool2D(2),
		nn.NewFlatten(),
		nn.NewDense(128, nn.ReLU),
		nn.NewDropout(0.3),
		nn.NewDense(set.Classes, nn.Softmax),
	)
	model := nn.NewSequential(layers...)

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
			fmt.Fprintf(out, "epoch %d: loss %.4f acc %.4f val_loss %.4f val_acc %.4f (%.0fs)\n", e.Epoch, e.Loss, e.Accuracy, e.ValLoss, e.ValAccuracy, e.Seconds)
		},
	})
	if err != nil {
		return err
	}
	res, err := t.Evaluate(train.Dataset{X: testSet.X, Y: testSet.Y})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s\ntest accuracy %.4f\n%s\n", t.Net().Summary(), res.Accuracy, hist.Diagnose())
	return nil
}
