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
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/internal/version"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/nn/onnx"
	"github.com/gputrain/gputrain/train/checkpoint"
	"github.com/gputrain/gputrain/train/data"
)

// exportFlags are export's flags.
type exportFlags struct {
	resume, out, dataset, dataDir string
	opset                         int
	overwrite                     bool
}

// exportFlagSet defines export's flags into f.
func exportFlagSet(f *exportFlags) *flag.FlagSet {
	fs := newFlagSet("gputrain export")
	fs.StringVar(&f.resume, "resume", "", "the checkpoint whose model to export (required)")
	fs.StringVar(&f.out, "onnx", "", "the ONNX file to write, `MODEL.onnx` (required)")
	intFlag(fs, &f.opset, "opset", onnx.DefaultOpset, between(onnx.MinOpset, onnx.MaxOpset), "ONNX opset (from 20: GELU as the Gelu op)")
	fs.StringVar(&f.dataset, "dataset", "", "for a layout-1 checkpoint: the data set it was trained on (default: the checkpoint's)")
	fs.StringVar(&f.dataDir, "data", "", "for a layout-1 checkpoint: the folder of the IDX files (default: the checkpoint's)")
	fs.BoolVar(&f.overwrite, "overwrite", false, "replace an existing -onnx file that gputrain did not write")
	return fs
}

// runExport is the export subcommand; it returns the exit status.
func runExport(args []string, stdout, stderr io.Writer) int {
	var f exportFlags
	fs := exportFlagSet(&f)
	usage := func(err error) int {
		fmt.Fprintf(stderr, "gputrain export: %v\n", oneLine(err))
		return 2
	}
	if err := parseArgs(fs, args, "usage: gputrain export -resume FILE -onnx MODEL.onnx [flags]", stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return usage(err)
	}
	resume, out, opset, dataset, dataDir := &f.resume, &f.out, &f.opset, &f.dataset, &f.dataDir
	switch {
	case *resume == "":
		return usage(fmt.Errorf("-resume FILE names the checkpoint whose model to export"))
	case *out == "":
		return usage(fmt.Errorf("-onnx MODEL.onnx names the file to write"))
	case !strings.HasSuffix(strings.ToLower(*out), ".onnx"):
		return usage(fmt.Errorf("-onnx %q: the file must end in .onnx", *out))
	case samePath(*out, *resume):
		return usage(fmt.Errorf("-onnx %s is the checkpoint -resume reads", *out))
	}
	if err := checkOutput(output{"-onnx", *out, "an ONNX model gputrain wrote", isOurONNX}, f.overwrite); err != nil {
		return usage(err)
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

// isOurONNX reports whether the file at path is an ONNX model whose producer is
// gputrain (ModelProto field 2, producer_name, among the top-level fields).
func isOurONNX(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return false
		}
		b = b[n:]
		if num == 2 && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(b)
			return n >= 0 && string(v) == "gputrain"
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return false
		}
		b = b[n:]
	}
	return false
}
