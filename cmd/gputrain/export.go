package main

// gputrain export: a checkpoint's model as an ONNX model, to run it elsewhere
// (onnxruntime, and what else reads ONNX).
//
//	gputrain export -resume FILE -onnx MODEL.onnx [-opset N] [-dataset …] [-data DIR]
//
// It rebuilds the checkpoint's model as predict does (checkpoint.LoadModel) and writes
// its inference form with nn.ExportONNX: one input "input" (batch, example shape…), a
// dynamic batch dimension, one output "output" (batch, classes…), the weights as
// initializers under their checkpoint names. The graph takes what the model takes:
// for the image data sets stored as bytes (mnist, fashion-mnist) that is float32
// pixels already scaled to [0, 1], byte·(1/255), as gputrain predict feeds them; for
// a model that starts with an embedding, int64 ids. -dataset and -data matter only for
// checkpoints of layout 1, whose model is rebuilt from the flags and the data set.

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/internal/version"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/nn/onnx"
	"github.com/gputrain/gputrain/train/checkpoint"
	"github.com/gputrain/gputrain/train/data"
)

// runExport is the export subcommand; it returns the exit status.
func runExport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gputrain export", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	resume := fs.String("resume", "", "the checkpoint whose model to export (required)")
	out := fs.String("onnx", "", "the ONNX file to write, `MODEL.onnx` (required)")
	opset := fs.Int("opset", onnx.DefaultOpset, fmt.Sprintf("ONNX opset, %d to %d (from 20: GELU as the Gelu op)", onnx.MinOpset, onnx.MaxOpset))
	dataset := fs.String("dataset", "", "for a layout-1 checkpoint: the data set it was trained on (default: the checkpoint's)")
	dataDir := fs.String("data", "", "for a layout-1 checkpoint: the folder of the IDX files (default: the checkpoint's)")
	usage := func(err error) int {
		fmt.Fprintf(stderr, "gputrain export: %v\n", oneLine(err))
		return 2
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, "usage: gputrain export -resume FILE -onnx MODEL.onnx [flags]")
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return 0
		}
		return usage(err)
	}
	switch {
	case fs.NArg() > 0:
		return usage(fmt.Errorf("unexpected argument %q (flags only; see -h)", fs.Arg(0)))
	case *resume == "":
		return usage(fmt.Errorf("-resume FILE names the checkpoint whose model to export"))
	case *out == "":
		return usage(fmt.Errorf("-onnx MODEL.onnx names the file to write"))
	case !strings.HasSuffix(strings.ToLower(*out), ".onnx"):
		return usage(fmt.Errorf("-onnx %q: the file must end in .onnx", *out))
	case *opset < onnx.MinOpset || *opset > onnx.MaxOpset:
		return usage(fmt.Errorf("-opset %d: want %d to %d", *opset, onnx.MinOpset, onnx.MaxOpset))
	}
	ck, err := checkpoint.Open(*resume)
	if err != nil {
		return usage(err)
	}
	dev, err := device.Open("cpu", device.Options{Threads: 1})
	if err != nil {
		return usage(err)
	}
	defer dev.Close()
	var set *data.Set
	o := &options{seed: ck.Settings.Seed}
	if ck.Spec == nil { // layout 1: the model is rebuilt from the flags and the data set
		layout1 := func(err error) int {
			return usage(fmt.Errorf("%s (layout %s) holds no model description, so its model is rebuilt from the flags it was saved with and the data set: %w", ck.Path, ck.Version, err))
		}
		if o, err = storedOptions(ck, *dataset, *dataDir); err != nil {
			return layout1(err)
		}
		if set, err = data.Load(o.dataset, data.LoadOptions{Dir: o.dataDir, Seed: o.seed}); err != nil {
			return layout1(err)
		}
	}
	m, err := rebuildModel(ck, dev, 1, o, set)
	if err != nil {
		return usage(err)
	}
	ds := ck.Settings.Dataset
	if ds == "" {
		ds = ck.Settings.Flags["dataset"]
	}
	in := inputDescription(m, ds)
	meta := map[string]string{"gputrain.checkpoint": filepath.Base(ck.Path), "gputrain.input": in}
	if ds != "" {
		meta["gputrain.dataset"] = ds
	}
	if ck.Writer != "" {
		meta["gputrain.writer"] = ck.Writer
	}
	if ck.Spec != nil {
		if b, err := json.Marshal(ck.Spec); err == nil {
			meta["gputrain.spec"] = string(b)
		}
	}
	name := ck.Settings.Model
	if name == "" {
		name = "gputrain"
	}
	opts := nn.ExportOptions{Opset: *opset, Name: name, Info: onnx.ModelInfo{
		Producer: "gputrain", ProducerVersion: version.Version(),
		Doc:      fmt.Sprintf("gputrain model %s from %s. Input %q: %s. Output %q: the model's output, as gputrain predict gives it.", name, filepath.Base(ck.Path), "input", in, "output"),
		Metadata: meta,
	}}
	if err := nn.ExportONNX(m, *out, opts); err != nil {
		fmt.Fprintf(stderr, "gputrain export: %v\n", oneLine(err))
		return 1
	}
	values := 0
	for _, p := range m.Params() {
		values += p.Value.Len()
	}
	fmt.Fprintf(stdout, "exported %s (model %s, %d modules) to %s: ONNX opset %d, %d initializers (%d values)\n",
		ck.Path, name, len(m.Modules())-1, *out, *opset, len(m.Params()), values)
	fmt.Fprintf(stdout, "input  %q %s\n", "input", in)
	fmt.Fprintf(stdout, "output %q float32 %s\n", "output", dimsString(m.OutputShape()))
	return 0
}

// pixelBytes reports whether a data set stores its examples as bytes that the trainer
// and predict scale to [0, 1].
func pixelBytes(dataset string) bool { return dataset == "mnist" || dataset == "fashion-mnist" }

// inputDescription says what the exported model's input takes.
func inputDescription(m *nn.Model, dataset string) string {
	d := dimsString(m.InputShape())
	switch {
	case nn.ONNXInputType(m) == onnx.Int64:
		return "int64 " + d + ": ids"
	case pixelBytes(dataset):
		return "float32 " + d + ": pixels scaled to [0, 1], byte·(1/255), as gputrain predict feeds them"
	}
	return "float32 " + d
}

// dimsString is (batch, d1, d2…).
func dimsString(per []int) string {
	parts := []string{"batch"}
	for _, d := range per {
		parts = append(parts, fmt.Sprint(d))
	}
	return "(" + strings.Join(parts, ", ") + ")"
}
