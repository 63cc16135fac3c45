// Command gputrain trains the reference MNIST model (an MLP, by default 784-128-64-10
// with ReLU and softmax, Adam, sparse cross-entropy) on the best device present, then
// evaluates it on the test set.
//
//	gputrain [-device auto|cpu|cuda] [-epochs 10] [-batch 32] [-optimizer adam] [-lr 0.001]
//	         [-hidden 128,64] [-val-split 0.1] [-seed 1] [-threads 0] [-data data/mnist] [-json]
//	         [-save FILE] [-resume FILE]
//
// It prints one line per epoch and the test result; with -json the last line printed is
// one JSON object with the run's figures. Bad flags or data print one line on stderr and
// exit with status 2. -save writes a checkpoint after every epoch; Ctrl-C saves one and
// exits with status 130, printing the -resume command that continues the run (see
// checkpoint.go).
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
