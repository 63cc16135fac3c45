// Command gpureport turns the logs of one run of the GPU bundle (run-gpu.sh's LOG_DIR)
// into the figures the CUDA backend is judged by: each test's result, the reference
// job's median epoch time and test accuracy for gputrain (CUDA graphs on and off) and
// PyTorch eager on the same GPU, their ratio, and the large MLP's training step rate
// against cuBLAS SGEMM's rate measured in the same run.
//
//	gpureport [-format table|markdown] LOGDIR
//	gpureport -name LOGDIR
//
// -format table (the default) is the table run-gpu.sh ends its summary with; markdown is
// the report committed as docs/gpu/<date>-<short commit>.md, whose name -name prints
// (internal/cudabuild/gpu-report.sh does both). It is built into the bundle as
// tools/gpureport (pure Go, static), so the GPU host needs neither Go nor Python for it.
//
// Targets (from the issue that asked for the proof), each PASS, FAIL or UNKNOWN when a
// figure is missing:
//
//	speed      PyTorch's median epoch / gputrain's (graphs on) >= 10
//	accuracy   gputrain's test accuracy after 10 epochs >= 0.973
//	throughput the large MLP step's GEMM FLOP rate / cuBLAS's rate on the same GEMMs >= 0.80
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gpureport", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "table", "output: table (run-gpu.sh's summary) or markdown (docs/gpu/<date>-<commit>.md)")
	name := fs.Bool("name", false, "print the report's file name, <date>-<short commit>.md, and nothing else")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: gpureport [-format table|markdown] [-name] LOGDIR")
		return 2
	}
	if *format != "table" && *format != "markdown" {
		fmt.Fprintf(stderr, "gpureport: -format %q: want table or markdown\n", *format)
		return 2
	}
	l, err := readLogs(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	switch {
	case *name:
		n, err := fileName(l)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		fmt.Fprintln(stdout, n)
	case *format == "markdown":
		writeMarkdown(stdout, l, compute(l))
	default:
		writeTable(stdout, l, compute(l))
	}
	return 0
}

// fileName is <date>-<short commit>.md from host.txt (the run's UTC date and the
// bundle's commit).
func fileName(l *logs) (string, error) {
	date, commit := l.host["date"], strings.Fields(l.host["bundle_commit"])
	if len(date) < 10 || len(commit) == 0 {
		return "", fmt.Errorf("gpureport: %s/host.txt lacks the run's date or the bundle's commit (date %q, bundle_commit %q)",
			l.dir, date, l.host["bundle_commit"])
	}
	return date[:10] + "-" + commit[0] + ".md", nil
}

// Targets.
const (
	minSpeedup  = 10
	minAccuracy = 0.973
	minRatio    = 0.80
)

// Benchmark names (device/cuda/throughput_test.go, training_test.go).
const (
	benchStep      = "BenchmarkLargeMLPStep"
	benchBlasStep  = "BenchmarkCublasSgemm/step-gemms"
	benchBlas4096  = "BenchmarkCublasSgemm/NN-m4096-n4096-k4096"
	benchEpochBase = "BenchmarkTrainEpoch/"
)

type verdict string

const (
	pass    verdict = "PASS"
	fail    verdict = "FAIL"
	unknown verdict = "UNKNOWN"
)

func check(known, ok bool) verdict {
	switch {
	case !known:
		return unknown
	case ok:
		return pass
	}
	return fail
}

// figures are the numbers the report is about; a zero means not measured.
type figures struct {
	graphsOn, graphsOff, torch *job

	speedup  float64 // torch median epoch / gputrain (graphs on) median epoch
	speedOK  verdict
	accOK    verdict
	plainOn  float64 // gputrain graphs off / graphs on, median epochs
	msStep   float64 // large MLP, ms per step
	stepGemm float64 // large MLP, TFLOP/s of the GEMMs executed
	stepAll  float64 // large MLP, TFLOP/s counted as 6·batch·Σ in·out
	blasStep float64 // cuBLAS on the step's GEMMs, TFLOP/s
	blas4096 float64 // cuBLAS 4096³ NN, TFLOP/s
	torchMM  float64 // torch.mm FP32 4096³, TFLOP/s
	ratio    float64 // stepGemm / blasStep
	ratioAll float64 // stepAll / blas4096 (the count against the square GEMM)
	ratioOK  verdict
}

func compute(l *logs) figures {
	f := figures{graphsOn: l.jobs["gputrain-graphs1"], graphsOff: l.jobs["gputrain-graphs0"], torch: l.jobs["torch"]}
	on := f.graphsOn != nil && f.graphsOn.median() > 0
	if on && f.torch != nil && f.torch.median() > 0 {
		f.speedup = f.torch.median() / f.graphsOn.median()
	}
	f.speedOK = check(f.speedup > 0, f.speedup >= minSpeedup)
	if on && f.graphsOff != nil {
		f.plainOn = f.graphsOff.median() / f.graphsOn.median()
	}
	f.accOK = check(f.graphsOn != nil && len(f.graphsOn.EpochSeconds) > 0, f.graphsOn != nil && f.graphsOn.TestAccuracy >= minAccuracy)
	f.msStep, _ = l.metric(benchStep, "ms/step")
	f.stepGemm, _ = l.metric(benchStep, "gemm-TFLOP/s")
	f.stepAll, _ = l.metric(benchStep, "TFLOP/s")
	f.blasStep, _ = l.metric(benchBlasStep, "TFLOP/s")
	f.blas4096, _ = l.metric(benchBlas4096, "TFLOP/s")
	if l.mm != nil {
		f.torchMM = l.mm.TFLOPS
	}
	if f.stepGemm > 0 && f.blasStep > 0 {
		f.ratio = f.stepGemm / f.blasStep
	}
	if f.stepAll > 0 && f.blas4096 > 0 {
		f.ratioAll = f.stepAll / f.blas4096
	}
	f.ratioOK = check(f.ratio > 0, f.ratio >= minRatio)
	return f
}

// num formats a measured value, or "-" for one that is missing.
func num(v float64, format string) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf(format, v)
}

func jobAcc(j *job) string {
	if j == nil {
		return "-"
	}
	return fmt.Sprintf("%.4f", j.TestAccuracy)
}

func jobMedian(j *job) string {
	if j == nil {
		return "-"
	}
	return num(j.median(), "%.3f s")
}

// testLine sums up a test binary: its step status and its top-level tests.
func testLine(l *logs, s step) string {
	ts := l.tests[s.Name]
	var p, f, k int
	for _, t := range ts {
		switch t.Status {
		case "PASS":
			p++
		case "FAIL":
			f++
		default:
			k++
		}
	}
	line := fmt.Sprintf("%-8s %4ds  %d tests passed, %d failed, %d skipped", s.Status, s.Seconds, p, f, k)
	if s.Note != "" {
		line += " (" + s.Note + ")"
	}
	if len(ts) == 0 && s.Status != "PASS" && s.Status != "SKIP" {
		line += "; ran no test: " + firstError(l, s.Log)
	}
	return line
}

// firstError is the first line of a log that says what went wrong, or its last line.
// gorgonia.org/cu's long message for a failed cuInit is cut to its error name.
func firstError(l *logs, log string) string {
	line := strings.TrimSpace(l.tail(log, 1))
	for _, s := range strings.Split(l.tail(log, 400), "\n") {
		low := strings.ToLower(s)
		if strings.Contains(low, "error") || strings.Contains(low, "panic") || strings.Contains(low, "nodevice") ||
			strings.Contains(low, "cannot") || strings.Contains(low, "not found") || strings.Contains(low, "is false") {
			line = strings.TrimSpace(s)
			break
		}
	}
	if _, name, ok := strings.Cut(line, "for details on: "); ok && strings.HasPrefix(line, "Error in initialization") {
		line = "cuInit failed: " + name
	}
	return line
}

func writeTable(w io.Writer, l *logs, f figures) {
	h := l.host
	fmt.Fprintf(w, "SUMMARY  %s  commit %s\n", h["date"], h["bundle_commit"])
	fmt.Fprintf(w, "  gpu %s, driver %s (CUDA %s), libcublas %s\n", orDash(h["gpu"]), orDash(h["driver"]), orDash(h["driver_cuda"]), orDash(h["libcublas"]))
	fmt.Fprintln(w, "test binaries")
	n := 0
	for _, s := range l.steps {
		if s.Kind == "test" {
			fmt.Fprintf(w, "  %-22s %s\n", s.Name, testLine(l, s))
			n++
		}
	}
	if n == 0 {
		fmt.Fprintln(w, "  (none run)")
	}
	fmt.Fprintln(w, "reference job: MNIST MLP 784-128-64-10, Adam, batch 32, 10 epochs")
	fmt.Fprintf(w, "  %-30s %-14s %s\n", "engine", "median epoch", "test accuracy")
	for _, r := range []struct {
		label, step string
		j           *job
	}{{"gputrain cuda, graphs on", "gputrain-graphs1", f.graphsOn}, {"gputrain cuda, graphs off", "gputrain-graphs0", f.graphsOff}, {"pytorch eager cuda", "torch_mlp", f.torch}} {
		fmt.Fprintf(w, "  %-30s %-14s %s%s\n", r.label, jobMedian(r.j), jobAcc(r.j), stepNote(l, r.step, r.j))
	}
	fmt.Fprintf(w, "  speed-up, pytorch / gputrain (graphs on): %s   target >= %dx: %s\n", num(f.speedup, "%.2fx"), minSpeedup, f.speedOK)
	fmt.Fprintf(w, "  gputrain test accuracy: %s (pytorch %s)   target >= %.3f: %s\n", jobAcc(f.graphsOn), jobAcc(f.torch), minAccuracy, f.accOK)
	fmt.Fprintf(w, "  graphs off / graphs on: %s\n", num(f.plainOn, "%.2fx"))
	fmt.Fprintln(w, "large MLP: 4096 inputs, Dense 4096 x4 (ReLU, softmax), Adam, batch 4096; TFLOP/s, medians")
	fmt.Fprintf(w, "  %-52s %s\n", "training step, GEMM FLOP executed", num(f.stepGemm, "%.2f")+msNote(f.msStep))
	fmt.Fprintf(w, "  %-52s %s\n", "training step, counted as 6*batch*sum(in*out)", num(f.stepAll, "%.2f"))
	fmt.Fprintf(w, "  %-52s %s\n", "cuBLAS SGEMM, the step's GEMMs alone", num(f.blasStep, "%.2f"))
	fmt.Fprintf(w, "  %-52s %s\n", "cuBLAS SGEMM 4096^3 (NN)", num(f.blas4096, "%.2f"))
	fmt.Fprintf(w, "  %-52s %s\n", "PyTorch torch.mm FP32 4096^3 (no TF32)", num(f.torchMM, "%.2f"))
	fmt.Fprintf(w, "  step / cuBLAS on the same GEMMs: %s   target >= %.2f: %s\n", num(f.ratio, "%.3f"), minRatio, f.ratioOK)
	fmt.Fprintf(w, "  step (6*batch*sum) / cuBLAS 4096^3: %s\n", num(f.ratioAll, "%.3f"))
	if eps := epochBench(l); eps != "" {
		fmt.Fprintf(w, "BenchmarkTrainEpoch, samples/s: %s\n", eps)
	}
	for _, s := range l.steps {
		if s.Status != "PASS" && s.Kind != "test" {
			fmt.Fprintf(w, "  note: %s %s: %s %s\n", s.Kind, s.Name, s.Status, s.Note)
		}
	}
	fmt.Fprintf(w, "TARGETS  speed %s  accuracy %s  throughput %s\n", f.speedOK, f.accOK, f.ratioOK)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func msNote(ms float64) string {
	if ms == 0 {
		return ""
	}
	return fmt.Sprintf("  (%.2f ms/step)", ms)
}

// stepNote says why a job has no figures.
func stepNote(l *logs, name string, j *job) string {
	if j != nil {
		return ""
	}
	kind := "job"
	if name == "torch_mlp" {
		kind = "torch"
	}
	s, ok := l.stepOf(kind, name)
	if !ok {
		return "   (not run)"
	}
	if s.Status == "SKIP" {
		return fmt.Sprintf("   (skipped: %s)", s.Note)
	}
	return fmt.Sprintf("   (%s %s: %s)", s.Status, s.Note, firstError(l, s.Log))
}

// epochBench lists BenchmarkTrainEpoch's samples/s per sub-benchmark.
func epochBench(l *logs) string {
	var parts []string
	for _, sub := range sortedKeys(l.bench) {
		if strings.HasPrefix(sub, benchEpochBase) {
			if v, ok := l.metric(sub, "samples/s"); ok {
				parts = append(parts, fmt.Sprintf("%s %.0f", strings.TrimPrefix(sub, benchEpochBase), v))
			}
		}
	}
	return strings.Join(parts, ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func writeMarkdown(w io.Writer, l *logs, f figures) {
	h := l.host
	title := "GPU run"
	if n, err := fileName(l); err == nil {
		title = "GPU run " + strings.TrimSuffix(n, ".md")
	}
	fmt.Fprintf(w, "# %s\n\n", title)
	fmt.Fprintf(w, "Written by `internal/cudabuild/gpu-report.sh` from the logs of `run-gpu.sh` (mode %s),\n", orDash(h["mode"]))
	fmt.Fprintf(w, "run on %s in %s s.\n\n", orDash(h["date"]), orDash(h["elapsed_seconds"]))
	fmt.Fprintln(w, "## Targets")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| target | measured | result |")
	fmt.Fprintln(w, "|---|---|---|")
	fmt.Fprintf(w, "| reference job: PyTorch eager's median epoch / gputrain's (graphs on) ≥ %d | %s | %s |\n", minSpeedup, num(f.speedup, "%.2f×"), f.speedOK)
	fmt.Fprintf(w, "| gputrain's test accuracy after 10 epochs ≥ %.3f | %s (PyTorch: %s) | %s |\n", minAccuracy, jobAcc(f.graphsOn), jobAcc(f.torch), f.accOK)
	fmt.Fprintf(w, "| large-MLP step's GEMM rate / cuBLAS SGEMM's rate on the same GEMMs ≥ %.2f | %s | %s |\n\n", minRatio, num(f.ratio, "%.3f"), f.ratioOK)

	fmt.Fprintln(w, "## Device")
	fmt.Fprintln(w)
	for _, k := range []string{"gpu", "compute_capability", "gpu_memory", "driver", "driver_cuda", "kernel_module", "libcublas", "libcuda", "torch", "host", "os", "cpus", "bundle_commit", "bundle_built", "bundle_headers"} {
		if v := h[k]; v != "" {
			fmt.Fprintf(w, "- %s: `%s`\n", strings.ReplaceAll(k, "_", " "), v)
		}
	}
	fmt.Fprintln(w)

	fmt.Fprintln(w, "## Tests")
	fmt.Fprintln(w)
	ran := false
	for _, s := range l.steps {
		if s.Kind != "test" {
			continue
		}
		ran = true
		fmt.Fprintf(w, "`%s`: %s\n\n", s.Name, testLine(l, s))
		if ts := l.tests[s.Name]; len(ts) > 0 {
			fmt.Fprintln(w, "| test | result | seconds | subtests (failed) |")
			fmt.Fprintln(w, "|---|---|---|---|")
			for _, t := range ts {
				fmt.Fprintf(w, "| %s | %s | %.2f | %d (%d) |\n", t.Name, t.Status, t.Seconds, t.Sub, t.SubFail)
			}
			fmt.Fprintln(w)
		}
		if s.Status != "PASS" {
			fmt.Fprintf(w, "From `%s`:\n\n```\n%s\n```\n\n", s.Log, l.failures(s.Log, 60))
		}
	}
	if !ran {
		fmt.Fprintln(w, "No test binary ran.")
		fmt.Fprintln(w)
	}

	fmt.Fprintln(w, "## Reference job")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "MNIST MLP 784-128 relu-64 relu-10 softmax, Adam, sparse cross-entropy, batch 32, 10 epochs,")
	fmt.Fprintln(w, "the last 10% of the training images for validation. An epoch's time includes the validation")
	fmt.Fprintln(w, "pass for both engines; the median is over the 10 epochs.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| engine | median epoch | test accuracy | test loss | epoch seconds |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, r := range []struct {
		label, step string
		j           *job
	}{{"gputrain `-device cuda`, CUDA graphs on", "gputrain-graphs1", f.graphsOn}, {"gputrain `-device cuda`, graphs off", "gputrain-graphs0", f.graphsOff}, {"PyTorch eager (`bench/torch_mlp.py --device cuda`)", "torch_mlp", f.torch}} {
		if r.j == nil {
			fmt.Fprintf(w, "| %s | - | - | - | %s |\n", r.label, strings.TrimSpace(stepNote(l, r.step, nil)))
			continue
		}
		eps := make([]string, len(r.j.EpochSeconds))
		for i, s := range r.j.EpochSeconds {
			eps[i] = fmt.Sprintf("%.3f", s)
		}
		fmt.Fprintf(w, "| %s | %.3f s | %.4f | %.4f | %s |\n", r.label, r.j.median(), r.j.TestAccuracy, r.j.TestLoss, strings.Join(eps, " "))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "- PyTorch / gputrain (graphs on), median epochs: **%s**\n", num(f.speedup, "%.2f×"))
	fmt.Fprintf(w, "- gputrain graphs off / graphs on: %s\n", num(f.plainOn, "%.2f×"))
	if f.graphsOn != nil && f.graphsOn.DeviceInfo != "" {
		fmt.Fprintf(w, "- gputrain's device: `%s`\n", f.graphsOn.DeviceInfo)
	}
	if f.torch != nil {
		fmt.Fprintf(w, "- PyTorch: %s on `%s`\n", f.torch.Version, f.torch.Device)
	}
	fmt.Fprintln(w)

	fmt.Fprintln(w, "## Throughput")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "The large MLP (`BenchmarkLargeMLPStep`): 4096 inputs, Dense 4096 ×4 (ReLU, the last softmax")
	fmt.Fprintln(w, "over 4096 classes), Adam, sparse cross-entropy, batch 4096, trained by `train.Trainer.Fit`.")
	fmt.Fprintln(w, "FLOP per step counted two ways: 6·batch·Σ in·out (the customary count), and the GEMMs the")
	fmt.Fprintln(w, "step runs, 2·batch·(3·Σ in·out − in₀·out₀), since the first layer computes no input")
	fmt.Fprintln(w, "gradient. cuBLAS's rates come from `BenchmarkCublasSgemm` in the same run (FP32, no TF32);")
	fmt.Fprintln(w, "`step-gemms` runs exactly the step's GEMMs back to back. Medians of the benchmark's runs.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| measurement | TFLOP/s |")
	fmt.Fprintln(w, "|---|---|")
	fmt.Fprintf(w, "| training step, GEMM FLOP executed%s | %s |\n", msNote(f.msStep), num(f.stepGemm, "%.2f"))
	fmt.Fprintf(w, "| training step, counted as 6·batch·Σ in·out | %s |\n", num(f.stepAll, "%.2f"))
	for _, name := range sortedKeys(l.bench) {
		if strings.HasPrefix(name, "BenchmarkCublasSgemm/") {
			v, _ := l.metric(name, "TFLOP/s")
			fmt.Fprintf(w, "| cuBLAS SGEMM `%s` | %s |\n", strings.TrimPrefix(name, "BenchmarkCublasSgemm/"), num(v, "%.2f"))
		}
	}
	if l.mm != nil {
		fmt.Fprintf(w, "| PyTorch %s `torch.mm` FP32 %d³ (allow_tf32=%v) | %s |\n", l.mm.Version, l.mm.M, l.mm.AllowTF, num(l.mm.TFLOPS, "%.2f"))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "- step's GEMM rate / cuBLAS on the same GEMMs: **%s**\n", num(f.ratio, "%.3f"))
	fmt.Fprintf(w, "- step counted as 6·batch·Σ in·out / cuBLAS 4096³: %s\n", num(f.ratioAll, "%.3f"))
	if eps := epochBench(l); eps != "" {
		fmt.Fprintf(w, "- `BenchmarkTrainEpoch` (reference MLP, 9600 samples), samples/s: %s\n", eps)
	}
	fmt.Fprintln(w)

	writePrecisions(w, l)

	fmt.Fprintln(w, "## Steps")
	fmt.Fprintln(w)
	if v := h["settings"]; v != "" {
		fmt.Fprintf(w, "Launcher settings: `%s`.\n", v)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| step | name | result | seconds | note |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, s := range l.steps {
		fmt.Fprintf(w, "| %s | %s | %s | %d | %s |\n", s.Kind, s.Name, s.Status, s.Seconds, s.Note)
	}
}

// precisionRow is one precision's figures in the report: the reference job in it, the
// large MLP's step against cuBLAS's rate for the same GEMMs in the same precision and
// against PyTorch's faster setting (eager or compiled) on the same card.
type precisionRow struct {
	job                         *job
	stepGemm, stepAll, blasStep float64
	torch                       *torchLarge
}

// precisionRows gathers the rows of fp32 and the precisions, by name.
func precisionRows(l *logs) map[string]precisionRow {
	rows := map[string]precisionRow{}
	for _, p := range append([]string{"fp32"}, precisions...) {
		r := precisionRow{job: l.jobs["gputrain-"+p]}
		step, blas := "BenchmarkLargeMLPStepPrecision/"+p, "BenchmarkCublasGemmPrecision/"+p+"/step-gemms"
		if p == "fp32" {
			r.job, step, blas = l.jobs["gputrain-graphs1"], benchStep, benchBlasStep
		}
		r.stepGemm, _ = l.metric(step, "gemm-TFLOP/s")
		r.stepAll, _ = l.metric(step, "TFLOP/s")
		r.blasStep, _ = l.metric(blas, "TFLOP/s")
		for _, how := range []string{"eager", "compile"} {
			if t := l.large["torch-large-mlp-"+p+"-"+how]; t != nil && (r.torch == nil || t.TFLOPS > r.torch.TFLOPS) {
				r.torch = t
			}
		}
		rows[p] = r
	}
	return rows
}

// writePrecisions writes the report's section on -precision (docs/precision.md), when
// the run measured any of it.
func writePrecisions(w io.Writer, l *logs) {
	rows := precisionRows(l)
	seen := false
	for _, p := range precisions {
		r := rows[p]
		seen = seen || r.job != nil || r.stepGemm > 0 || r.torch != nil
	}
	if !seen {
		return
	}
	ratio := func(a, b float64) float64 {
		if a > 0 && b > 0 {
			return a / b
		}
		return 0
	}
	fmt.Fprintln(w, "## Precisions")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "The reference job with `-precision` (graphs on), and the large MLP's step per precision")
	fmt.Fprintln(w, "(`BenchmarkLargeMLPStepPrecision`; fp32: `BenchmarkLargeMLPStep`) against cuBLAS's rate for")
	fmt.Fprintf(w, "the same GEMMs in the same precision (`BenchmarkCublasGemmPrecision/<p>/step-gemms`; goal ≥ %.2f)\n", minRatio)
	fmt.Fprintln(w, "and against PyTorch's faster of eager and `torch.compile` (`bench/torch_large_mlp.py`, autocast,")
	fmt.Fprintln(w, "fused Adam), both counted as 6·batch·Σ in·out (goal ≥ 1.0 in bf16). Accuracy goal: ≥ 0.973.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| precision | job test accuracy | job median epoch | step gemm-TFLOP/s | cuBLAS same GEMMs | ratio | step TFLOP/s | PyTorch TFLOP/s | gputrain / PyTorch |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
	for _, p := range append([]string{"fp32"}, precisions...) {
		r := rows[p]
		acc, med := "-", "-"
		if r.job != nil {
			acc, med = fmt.Sprintf("%.4f", r.job.TestAccuracy), num(r.job.median(), "%.3f s")
		}
		tt, tn := 0.0, ""
		if r.torch != nil {
			tt, tn = r.torch.TFLOPS, " (eager)"
			if r.torch.Compile != "" {
				tn = " (compiled)"
			}
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s%s | %s |\n", p, acc, med, num(r.stepGemm, "%.2f"), num(r.blasStep, "%.2f"),
			num(ratio(r.stepGemm, r.blasStep), "%.3f"), num(r.stepAll, "%.2f"), num(tt, "%.2f"), tn, num(ratio(r.stepAll, tt), "%.2f×"))
	}
	for _, p := range precisions {
		if m := l.prec[p]; m != nil {
			fmt.Fprintf(w, "\nPyTorch %s `torch.mm` %s %d³: %s TFLOP/s", m.Version, p, m.M, num(m.TFLOPS, "%.2f"))
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w)
}
