// Command gputrain trains a classifier on the best device present, then evaluates it on
// the test set. By default it trains the reference MNIST model (an MLP, 784-128-64-10
// with ReLU and softmax, Adam, sparse cross-entropy).
//
//	gputrain [-device auto|cpu|cuda] [-epochs 10] [-batch 32] [-optimizer adam] [-lr 0.001]
//	         [-model mlp|cnn|resnet|mf[:…]|twotower[:…]|FILE.json] [-hidden 128,64] [-augment 0]
//	         [-dataset mnist|fashion-mnist|csv:FILE[:label=COL][:test=FILE]|insteval|ratings:FILE[:…]] [-data DIR]
//	         [-val-split 0.1] [-seed 1] [-threads 0] [-limit 0] [-json]
//	         [-save FILE] [-resume FILE] [-plot FILE.png] [-history FILE.csv|.json]
//	         [-early-stop N] [-lr-schedule none|step|cosine] [-warmup N] [-clip-norm X]
//	         [-l2 X] [-progress auto|on|off] [-tensorboard DIR] [-tb-histograms N] [-version]
//	         [-dist auto|none|mpi|nccl]
//
// -model cnn is a LeNet-style convolutional network (nn.CNNSpec); a JSON file describes
// any Sequential model (nn.Spec). -augment N shifts training images at random by up to N
// pixels (mirroring them too for fashion-mnist).
//
// It prints one line per epoch and the test result; with -json the last line printed is
// one JSON object with the run's figures. Bad flags or data print one line on stderr and
// exit with status 2. -save writes a checkpoint after every epoch; Ctrl-C saves one and
// exits with status 130, printing the -resume command that continues the run (see
// checkpoint.go). -tensorboard DIR writes TensorBoard logs as training goes (see
// conveniences.go). -version prints the version, commit and build tags. Under mpirun or
// srun every rank runs the same command and they train one model together, -batch per
// rank (dist.go, docs/distributed.md).
//
//	gputrain predict -resume FILE [-n N] [-json]              (predict.go)
//	gputrain export -resume FILE -onnx MODEL.onnx [-opset N]  (export.go)
//	gputrain sample -resume FILE [-prompt TEXT] [-n 500]      (sample.go)
//	gputrain recommend -resume FILE -user ID [-k 10] [-json]  (recommend.go)
//
// predict runs a checkpoint's model on the test set; export writes it as an ONNX model;
// sample generates text with a text model's checkpoint; recommend lists a
// recommender's top items for a user. -dataset text:FILE trains a character-level
// language model (-model gpt:… or lstm:…) by -steps (text.go). A ratings data set
// (insteval, ratings:FILE) trains a recommender, -model mf or twotower (recsys.go,
// docs/recommenders.md).
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
