package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testdata/fabricated-logs is hand-written input in run-gpu.sh's layout with invented
// round numbers (see its README): no GPU made it. The expected figures below are worked
// out by hand from those files.
const fabricated = "testdata/fabricated-logs"

// testdata/dryrun-nogpu is what run-gpu.sh really wrote on a machine with Debian's
// libcuda.so.1 and no GPU (docs/gpu/README.md, "Dry run").
const dryrun = "testdata/dryrun-nogpu"

func TestReadsEveryFigure(t *testing.T) {
	l, err := readLogs(fabricated)
	require.NoError(t, err)
	f := compute(l)

	// medians: gputrain graphs on 0.1 s (sorted: 0.09 0.1×7 0.12 0.5), graphs off 0.3 s,
	// PyTorch 1.5 s
	require.NotNil(t, f.graphsOn)
	assert.InDelta(t, 0.1, f.graphsOn.median(), 1e-12)
	assert.InDelta(t, 1.5/0.1, f.speedup, 1e-9)
	assert.InDelta(t, 0.3/0.1, f.plainOn, 1e-9)
	assert.Equal(t, pass, f.speedOK)
	assert.Equal(t, pass, f.accOK) // 0.9781 >= 0.973

	// benchmark medians: step gemm 41 of {40, 42, 41}, counted 44.7, 37 ms/step; cuBLAS
	// step-gemms 48 of {48, 49, 47}, 4096³ NN 51 of {50, 52, 51}
	assert.Equal(t, 41.0, f.stepGemm)
	assert.Equal(t, 44.7, f.stepAll)
	assert.Equal(t, 37.0, f.msStep)
	assert.Equal(t, 48.0, f.blasStep)
	assert.Equal(t, 51.0, f.blas4096)
	assert.Equal(t, 50.5, f.torchMM)
	assert.InDelta(t, 41.0/48, f.ratio, 1e-12)
	assert.InDelta(t, 44.7/51, f.ratioAll, 1e-12)
	assert.Equal(t, pass, f.ratioOK)

	// the -GOMAXPROCS suffix goes, the sub-benchmark's own name stays
	assert.Len(t, l.bench["BenchmarkCublasSgemm/NT-m4096-n4096-k4096"]["TFLOP/s"], 1)
	assert.Equal(t, []float64{19200}, l.bench["BenchmarkTrainEpoch/cpu"]["samples/s"])

	tests := l.tests["device-cuda.test"]
	require.Len(t, tests, 4)
	assert.Equal(t, test{Name: "TestConformance", Status: "FAIL", Seconds: 1.25, Sub: 2, SubFail: 1}, tests[1])
	assert.Equal(t, test{Name: "TestTrainingMatchesCPU", Status: "PASS", Seconds: 1.5, Sub: 2}, tests[2])
	assert.Equal(t, "SKIP", tests[3].Status)
}

func TestTableAndMarkdown(t *testing.T) {
	var out, errb bytes.Buffer
	require.Equal(t, 0, run([]string{fabricated}, &out, &errb), errb.String())
	table := out.String()
	for _, want := range []string{
		"device-cuda.test       FAIL       40s  2 tests passed, 1 failed, 1 skipped (rc=1)",
		"gputrain cuda, graphs on       0.100 s        0.9781",
		"pytorch eager cuda             1.500 s        0.9776",
		"speed-up, pytorch / gputrain (graphs on): 15.00x   target >= 10x: PASS",
		"step / cuBLAS on the same GEMMs: 0.854   target >= 0.80: PASS",
		"note: bench BenchmarkTrainEpoch: TIMEOUT limit 120s",
		"TARGETS  speed PASS  accuracy PASS  throughput PASS",
	} {
		assert.Contains(t, table, want)
	}

	out.Reset()
	require.Equal(t, 0, run([]string{"-format", "markdown", fabricated}, &out, &errb), errb.String())
	md := out.String()
	for _, want := range []string{
		"# GPU run 2031-02-03-abc1234",
		"| gputrain's test accuracy after 10 epochs ≥ 0.973 | 0.9781 (PyTorch: 0.9776) | PASS |",
		"| TestConformance | FAIL | 1.25 | 2 (1) |",
		"- gpu: `FABRICATED GPU`",
		"- driver: `000.00`",
		"| PyTorch eager (`bench/torch_mlp.py --device cuda`) | 1.500 s | 0.9776 | 0.0750 | 2.000 1.500",
		"| cuBLAS SGEMM `step-gemms` | 48.00 |",
		"| training step, GEMM FLOP executed  (37.00 ms/step) | 41.00 |",
		"    conformance.go:10: fabricated failure message\n    --- FAIL: TestConformance/Softmax", // what failed
	} {
		assert.Contains(t, md, want)
	}

	out.Reset()
	require.Equal(t, 0, run([]string{"-name", fabricated}, &out, &errb))
	assert.Equal(t, "2031-02-03-abc1234.md\n", out.String())
}

// copyDir copies the fixture to a temporary directory a test may change.
func copyDir(t *testing.T, src string) string {
	dst := t.TempDir()
	ents, err := os.ReadDir(src)
	require.NoError(t, err)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644))
	}
	return dst
}

// Missing figures are UNKNOWN, never PASS; figures under a target FAIL.
func TestMissingAndFailingFigures(t *testing.T) {
	dir := copyDir(t, fabricated)
	require.NoError(t, os.Remove(filepath.Join(dir, "torch.json")))
	require.NoError(t, os.Remove(filepath.Join(dir, "bench-BenchmarkCublasSgemm.log")))
	res, err := os.ReadFile(filepath.Join(dir, "results.tsv"))
	require.NoError(t, err)
	res = bytes.Replace(res, []byte("torch\ttorch_mlp\tPASS\t30\ttorch.log\t"), []byte("torch\ttorch_mlp\tSKIP\t0\t-\tpython3 cannot import torch"), 1)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "results.tsv"), res, 0o644))
	js := `{"device":"cuda","epochs":10,"epoch_seconds":[0.01],"test_accuracy":0.9729,"test_loss":0.1}`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "gputrain-graphs1.json"), []byte(js), 0o644))

	l, err := readLogs(dir)
	require.NoError(t, err)
	f := compute(l)
	assert.Equal(t, unknown, f.speedOK)
	assert.Equal(t, fail, f.accOK)
	assert.Equal(t, unknown, f.ratioOK)
	var out bytes.Buffer
	writeTable(&out, l, f)
	assert.Contains(t, out.String(), "pytorch eager cuda             -              -   (skipped: python3 cannot import torch)")
	assert.Contains(t, out.String(), "TARGETS  speed UNKNOWN  accuracy FAIL  throughput UNKNOWN")
}

func TestDryRunWithoutGPU(t *testing.T) {
	l, err := readLogs(dryrun)
	require.NoError(t, err)
	f := compute(l)
	assert.Equal(t, unknown, f.speedOK)
	assert.Equal(t, unknown, f.accOK)
	assert.Equal(t, unknown, f.ratioOK)
	var out bytes.Buffer
	writeTable(&out, l, f)
	assert.Contains(t, out.String(), "ran no test: cuInit failed: NoDevice")
	assert.Contains(t, out.String(), "gputrain cuda, graphs on       -              -   (FAIL rc=1: cuInit failed: NoDevice)")
	assert.Contains(t, out.String(), "torch.cuda.is_available() is False")
}

func TestBadInput(t *testing.T) {
	var out, errb bytes.Buffer
	assert.Equal(t, 2, run(nil, &out, &errb))
	assert.Equal(t, 2, run([]string{"-format", "html", fabricated}, &out, &errb))
	assert.Contains(t, errb.String(), `-format "html": want table or markdown`)
	errb.Reset()
	assert.Equal(t, 1, run([]string{filepath.Join(t.TempDir(), "none")}, &out, &errb))
	assert.Contains(t, errb.String(), "not a directory of run-gpu.sh logs")

	dir := copyDir(t, fabricated)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "results.tsv"), []byte("test\tx\tPASS\n"), 0o644))
	errb.Reset()
	assert.Equal(t, 1, run([]string{dir}, &out, &errb))
	assert.Contains(t, errb.String(), "results.tsv: line 1: 3 tab-separated fields, want 6")

	dir = copyDir(t, fabricated)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "host.txt"), []byte("mode: full\n"), 0o644))
	errb.Reset()
	assert.Equal(t, 1, run([]string{"-name", dir}, &out, &errb))
	assert.True(t, strings.Contains(errb.String(), "lacks the run's date or the bundle's commit"), errb.String())
}

// The precisions' section, from hand-written logs with round invented numbers: the
// reference job in bf16, the large MLP's bf16 step and cuBLAS's bf16 rate, PyTorch's
// eager and compiled runs (the faster one counts).
func TestPrecisionsSection(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
	}
	write("results.tsv", "job\tgputrain-bf16\tPASS\t20\tgputrain-bf16.log\t\n"+
		"bench\tBenchmarkLargeMLPStepPrecision\tPASS\t30\tbench-BenchmarkLargeMLPStepPrecision.log\t\n"+
		"bench\tBenchmarkCublasGemmPrecision\tPASS\t30\tbench-BenchmarkCublasGemmPrecision.log\t\n")
	write("gputrain-bf16.json", `{"epoch_seconds":[0.2,0.1,0.1],"test_accuracy":0.975,"test_loss":0.09}`)
	write("bench-BenchmarkLargeMLPStepPrecision.log",
		"BenchmarkLargeMLPStepPrecision/bf16-16 \t 4 \t 1 ns/op \t 400.00 gemm-TFLOP/s \t 5.0 ms/step \t 430.00 TFLOP/s\n")
	write("bench-BenchmarkCublasGemmPrecision.log",
		"BenchmarkCublasGemmPrecision/bf16/step-gemms-16 \t 9 \t 1 ns/op \t 500.00 TFLOP/s\n")
	write("torch-large-mlp-bf16-eager.json", `{"version":"2.9","precision":"bf16","tflops":300}`)
	write("torch-large-mlp-bf16-compile.json", `{"version":"2.9","precision":"bf16","compile":"max-autotune-no-cudagraphs","tflops":344}`)
	write("torch-gemm-bf16.json", `{"version":"2.9","m":4096,"tflops":700}`)

	l, err := readLogs(dir)
	require.NoError(t, err)
	r := precisionRows(l)["bf16"]
	require.NotNil(t, r.job)
	assert.Equal(t, 0.975, r.job.TestAccuracy)
	assert.Equal(t, 400.0, r.stepGemm)
	assert.Equal(t, 430.0, r.stepAll)
	assert.Equal(t, 500.0, r.blasStep)
	require.NotNil(t, r.torch)
	assert.Equal(t, 344.0, r.torch.TFLOPS)

	var md bytes.Buffer
	writePrecisions(&md, l)
	assert.Contains(t, md.String(), "| bf16 | 0.9750 | 0.100 s | 400.00 | 500.00 | 0.800 | 430.00 | 344.00 (compiled) | 1.25× |")
	assert.Contains(t, md.String(), "| tf32 | - | - | - | - | - | - | - | - |")
	assert.Contains(t, md.String(), "PyTorch 2.9 `torch.mm` bf16 4096³: 700.00 TFLOP/s")

	// a run without any of it has no section
	md.Reset()
	l, err = readLogs(fabricated)
	require.NoError(t, err)
	writePrecisions(&md, l)
	assert.Empty(t, md.String())
}
