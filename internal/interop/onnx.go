package interop

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ONNXImports is the Python statement that Python must be able to run for RunONNX.
const ONNXImports = "import numpy, onnx, onnx.checker, onnxruntime"

// ONNXValue is a graph input or output as a model declares it: its name, element type
// (TensorProto.DataType: 1 float32, 7 int64) and dimensions ("batch", "784").
type ONNXValue struct {
	Name     string   `json:"name"`
	ElemType int      `json:"elem_type"`
	Dims     []string `json:"dims"`
}

// ONNXRun is what run_onnx.py reports about a model it checked and ran.
type ONNXRun struct {
	Opset        int         `json:"opset"`
	IRVersion    int         `json:"ir_version"`
	Producer     string      `json:"producer"`
	Inputs       []ONNXValue `json:"inputs"`
	Outputs      []ONNXValue `json:"outputs"`
	Initializers []string    `json:"initializers"`
	Ops          []string    `json:"ops"`
	// Shape is the shape of the first output that onnxruntime computed, Output its
	// values.
	Shape  []int     `json:"shape"`
	Output []float32 `json:"-"`
}

// RunONNX checks the ONNX model at path with onnx.checker and runs it in onnxruntime
// (CPU, default session options) on x, a []float32 or []int64 of the given shape,
// with py (a Python that runs ONNXImports: see Python), using run_onnx.py next to this
// file. It fails the test if anything goes wrong.
func RunONNX(t testing.TB, py, model string, x any, shape []int) *ONNXRun {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "input.raw"), filepath.Join(dir, "output.raw")
	dtype := ""
	switch x.(type) {
	case []float32:
		dtype = "float32"
	case []int64:
		dtype = "int64"
	default:
		t.Fatalf("interop: RunONNX takes []float32 or []int64 inputs, got %T", x)
	}
	var b bytes.Buffer
	if err := binary.Write(&b, binary.LittleEndian, x); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = strconv.Itoa(d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, filepath.Join(root, "internal", "interop", "run_onnx.py"), model, in, dtype, strings.Join(dims, ","), out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("interop: run_onnx.py %s: %v: %s", model, err, stderr.String())
	}
	var r ONNXRun
	if err := json.Unmarshal(bytes.TrimSpace(stdout), &r); err != nil {
		t.Fatalf("interop: run_onnx.py printed %q: %v", stdout, err)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	r.Output = make([]float32, len(raw)/4)
	if err := binary.Read(bytes.NewReader(raw), binary.LittleEndian, r.Output); err != nil {
		t.Fatal(err)
	}
	return &r
}
