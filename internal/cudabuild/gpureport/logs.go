package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// logs is what one run of run-gpu.sh left in its LOG_DIR.
type logs struct {
	dir   string
	host  map[string]string // host.txt: "key: value" lines
	steps []step            // results.tsv, in run order
	tests map[string][]test // test binary -> its top-level tests, from <binary>.log
	jobs  map[string]*job   // gputrain-graphs1, gputrain-graphs0, torch: their -json line
	bench map[string]map[string][]float64
	mm    *torchMM // torch-sgemm.json
	// large holds bench/torch_large_mlp.py's JSON lines by file name without .json
	// (torch-large-mlp-<precision>-<eager|compile>), prec torch-sgemm.py --precision's
	// (torch-gemm-<precision>).
	large map[string]*torchLarge
	prec  map[string]*torchMM
}

// precisions are the -precision values other than fp32 whose figures run-gpu.sh records
// (steps 3c and 6b).
var precisions = []string{"tf32", "bf16", "fp16"}

// torchLarge is bench/torch_large_mlp.py's JSON line.
type torchLarge struct {
	Version   string  `json:"version"`
	Precision string  `json:"precision"`
	Compile   string  `json:"compile"`
	MsPerStep float64 `json:"ms_per_step"`
	TFLOPS    float64 `json:"tflops"`
}

// step is one line of results.tsv: KIND NAME STATUS SECONDS LOG NOTE, tab-separated.
// KIND is test, job, torch, bench or sgemm; STATUS PASS, FAIL, TIMEOUT or SKIP.
type step struct {
	Kind, Name, Status string
	Seconds            int
	Log, Note          string
}

// test is one top-level test of a test binary's -test.v output.
type test struct {
	Name, Status string
	Seconds      float64
	Sub, SubFail int // subtests run, failed
}

// job is the final JSON line of gputrain -json or bench/torch_mlp.py --json.
type job struct {
	Engine       string    `json:"engine"`
	Version      string    `json:"version"`
	Device       string    `json:"device"`
	DeviceInfo   string    `json:"device_info"`
	Epochs       int       `json:"epochs"`
	EpochSeconds []float64 `json:"epoch_seconds"`
	TestAccuracy float64   `json:"test_accuracy"`
	TestLoss     float64   `json:"test_loss"`
}

// median is the median epoch time.
func (j *job) median() float64 { return median(j.EpochSeconds) }

// torchMM is torch-sgemm.py's JSON line.
type torchMM struct {
	Version string  `json:"version"`
	Device  string  `json:"device"`
	M       int     `json:"m"`
	TFLOPS  float64 `json:"tflops"`
	AllowTF bool    `json:"allow_tf32"`
	CUDA    string  `json:"cuda"`
}

// readLogs reads dir. Missing files are not errors (a step may have been skipped or cut
// short); a malformed results.tsv, JSON or benchmark line is, naming the file and line.
func readLogs(dir string) (*logs, error) {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("gpureport: %s: not a directory of run-gpu.sh logs", dir)
	}
	l := &logs{dir: dir, host: map[string]string{}, tests: map[string][]test{}, jobs: map[string]*job{},
		bench: map[string]map[string][]float64{}, large: map[string]*torchLarge{}, prec: map[string]*torchMM{}}
	if err := eachLine(filepath.Join(dir, "host.txt"), func(n int, s string) error {
		k, v, ok := strings.Cut(s, ": ")
		if !ok {
			return fmt.Errorf("line %d: %q is not \"key: value\"", n, s)
		}
		l.host[k] = v
		return nil
	}); err != nil {
		return nil, err
	}
	if err := eachLine(filepath.Join(dir, "results.tsv"), func(n int, s string) error {
		f := strings.Split(s, "\t")
		if len(f) != 6 {
			return fmt.Errorf("line %d: %d tab-separated fields, want 6 (kind name status seconds log note)", n, len(f))
		}
		sec, err := strconv.Atoi(f[3])
		if err != nil {
			return fmt.Errorf("line %d: seconds %q: %v", n, f[3], err)
		}
		l.steps = append(l.steps, step{Kind: f[0], Name: f[1], Status: f[2], Seconds: sec, Log: f[4], Note: f[5]})
		return nil
	}); err != nil {
		return nil, err
	}
	for _, s := range l.steps {
		var err error
		switch s.Kind {
		case "test":
			l.tests[s.Name], err = readTests(filepath.Join(dir, s.Log))
		case "bench":
			err = readBench(filepath.Join(dir, s.Log), l.bench)
		}
		if err != nil {
			return nil, err
		}
	}
	names := []string{"gputrain-graphs1", "gputrain-graphs0", "torch"}
	for _, p := range precisions {
		names = append(names, "gputrain-"+p)
	}
	for _, name := range names {
		j := &job{}
		ok, err := readJSON(filepath.Join(dir, name+".json"), j)
		if err != nil {
			return nil, err
		}
		if ok {
			l.jobs[name] = j
		}
	}
	mm := &torchMM{}
	ok, err := readJSON(filepath.Join(dir, "torch-sgemm.json"), mm)
	if err != nil {
		return nil, err
	}
	if ok {
		l.mm = mm
	}
	for _, p := range append([]string{"fp32"}, precisions...) {
		for _, how := range []string{"eager", "compile"} {
			name := "torch-large-mlp-" + p + "-" + how
			tl := &torchLarge{}
			if ok, err := readJSON(filepath.Join(dir, name+".json"), tl); err != nil {
				return nil, err
			} else if ok {
				l.large[name] = tl
			}
		}
		if p == "fp32" {
			continue
		}
		pm := &torchMM{}
		if ok, err := readJSON(filepath.Join(dir, "torch-gemm-"+p+".json"), pm); err != nil {
			return nil, err
		} else if ok {
			l.prec[p] = pm
		}
	}
	return l, nil
}

// eachLine calls f with each non-empty line of path; a missing file has no lines.
func eachLine(path string, f func(n int, line string) error) error {
	file, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("gpureport: %w", err)
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for n := 1; sc.Scan(); n++ {
		if s := strings.TrimRight(sc.Text(), "\r"); s != "" {
			if err := f(n, s); err != nil {
				return fmt.Errorf("gpureport: %s: %w", path, err)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("gpureport: %s: %w", path, err)
	}
	return nil
}

func readJSON(path string, v any) (bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("gpureport: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("gpureport: %s: %w", path, err)
	}
	return true, nil
}

var (
	topResult = regexp.MustCompile(`^--- (PASS|FAIL|SKIP): (\S+) \(([0-9.]+)s\)`)
	subResult = regexp.MustCompile(`^\s+--- (PASS|FAIL|SKIP): (\S+)`)
)

// readTests returns the top-level tests of a -test.v log, with their subtest counts.
func readTests(path string) ([]test, error) {
	var out []test
	sub, subFail := map[string]int{}, map[string]int{}
	err := eachLine(path, func(_ int, s string) error {
		if m := topResult.FindStringSubmatch(s); m != nil {
			sec, _ := strconv.ParseFloat(m[3], 64)
			out = append(out, test{Name: m[2], Status: m[1], Seconds: sec})
		} else if m := subResult.FindStringSubmatch(s); m != nil {
			top, _, _ := strings.Cut(m[2], "/")
			sub[top]++
			if m[1] == "FAIL" {
				subFail[top]++
			}
		}
		return nil
	})
	for i := range out {
		out[i].Sub, out[i].SubFail = sub[out[i].Name], subFail[out[i].Name]
	}
	return out, err
}

var procSuffix = regexp.MustCompile(`-[0-9]+$`)

// readBench adds the metrics of each "BenchmarkX/sub-P  N  v unit  v unit…" line of path
// to into[name][unit] (name without the -GOMAXPROCS suffix).
func readBench(path string, into map[string]map[string][]float64) error {
	return eachLine(path, func(n int, s string) error {
		if !strings.HasPrefix(s, "Benchmark") {
			return nil
		}
		f := strings.Fields(s)
		if len(f) < 4 || len(f)%2 != 0 {
			return nil // a benchmark's name printed alone, or its log lines
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			return nil
		}
		name := procSuffix.ReplaceAllString(f[0], "")
		if into[name] == nil {
			into[name] = map[string][]float64{}
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return fmt.Errorf("line %d: value %q of %s: %v", n, f[i], f[i+1], err)
			}
			into[name][f[i+1]] = append(into[name][f[i+1]], v)
		}
		return nil
	})
}

// median of xs (NaN-free); 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// metric is the median of a benchmark's unit, and whether it was measured.
func (l *logs) metric(name, unit string) (float64, bool) {
	v := l.bench[name][unit]
	return median(v), len(v) > 0
}

// stepOf returns the results.tsv line of kind and name, if the run has one.
func (l *logs) stepOf(kind, name string) (step, bool) {
	for _, s := range l.steps {
		if s.Kind == kind && s.Name == name {
			return s, true
		}
	}
	return step{}, false
}

// tail returns the last n lines of a log of the run ("" if it is missing).
func (l *logs) tail(log string, n int) string {
	b, err := os.ReadFile(filepath.Join(l.dir, log))
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

var failLine = regexp.MustCompile(`--- FAIL|\.go:[0-9]+: |^panic:|^FAIL|Error|error`)

// failures returns the lines of a test log that tell what failed (failed tests, the
// file:line messages, panics), at most n, or its last n lines when there are none.
func (l *logs) failures(log string, n int) string {
	var out []string
	for _, s := range strings.Split(l.tail(log, 1<<30), "\n") {
		if failLine.MatchString(s) && len(out) < n {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return l.tail(log, n)
	}
	return strings.Join(out, "\n")
}
