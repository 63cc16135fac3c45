package tensorboard

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/internal/interop"
)

// interopPython finds a Python with tensorboard (internal/interop.Python).
func interopPython(t *testing.T) string {
	return interop.Python(t, "tensorboard", "import numpy; from tensorboard.backend.event_processing import event_accumulator")
}

// tbHistogram is a histogram as the script prints it.
type tbHistogram struct {
	Step        int64     `json:"step"`
	Min         float64   `json:"min"`
	Max         float64   `json:"max"`
	Num         float64   `json:"num"`
	Sum         float64   `json:"sum"`
	SumSquares  float64   `json:"sum_squares"`
	BucketLimit []float64 `json:"bucket_limit"`
	Bucket      []float64 `json:"bucket"`
}

// tbRun is what testdata/read_events.py prints for one run folder.
type tbRun struct {
	Runs struct {
		FileVersion float64                  `json:"file_version"`
		Scalars     map[string][][2]float64  `json:"scalars"`
		Histograms  map[string][]tbHistogram `json:"histograms"`
		Texts       map[string][][3]any      `json:"texts"`
	} `json:"runs"`
	Expected map[string]tbHistogram `json:"expected"`
}

// readWithTensorBoard runs TensorBoard's EventAccumulator on the run folder dir; each
// pair of extra is a float32 file and the histogram tag it must match.
func readWithTensorBoard(t *testing.T, py, dir string, extra ...string) tbRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, append([]string{filepath.Join("testdata", "read_events.py"), dir}, extra...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "read_events.py: %s", stderr.String())
	var r tbRun
	require.NoError(t, json.Unmarshal(out, &r), "read_events.py printed %q", out)
	return r
}

// TensorBoard reads back every scalar exactly (as the float32 simple_value holds it),
// the histograms with the buckets TensorFlow's own rules give (computed again in numpy
// from the raw values), and the texts.
func TestTensorBoardReadsEvents(t *testing.T) {
	py := interopPython(t)
	dir := t.TempDir()
	w, err := NewWriter(filepath.Join(dir, "run"), WriterOptions{})
	require.NoError(t, err)
	scalars := []float64{2.302585092994046, 0.1 + 0.2, 1e-30, -7, 3.4e38, 1.0 / 3, 0}
	for i, v := range scalars {
		require.NoError(t, w.Scalar("loss", int64(i+1), v))
		require.NoError(t, w.Scalar("lr", int64(100*(i+1)), v/2))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	normal := make([]float32, 1000)
	for i := range normal {
		normal[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(9)-6)))
	}
	sets := map[string][]float32{
		"weights/normal": normal,
		"weights/zeros":  make([]float32, 10),
		"weights/few":    {0, 1, -1.5, 1e-13, -1e-13, 3e38},
	}
	var extra []string
	for tag, vals := range sets {
		require.NoError(t, w.HistogramOf(tag, 7, vals))
		f := filepath.Join(dir, filepath.Base(tag)+".f32")
		raw := make([]byte, 0, 4*len(vals))
		for _, v := range vals {
			raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
		}
		require.NoError(t, os.WriteFile(f, raw, 0o644))
		extra = append(extra, f, tag)
	}
	text := "## model\n\n| layer | units |\n|---|---|\n| dense | 128 |\n\nünïcødé ✓"
	require.NoError(t, w.Text("model", 0, text))
	require.NoError(t, w.Close())

	r := readWithTensorBoard(t, py, filepath.Join(dir, "run"), extra...)
	assert.Equal(t, 2.0, r.Runs.FileVersion)
	require.Len(t, r.Runs.Scalars["loss"], len(scalars))
	require.Len(t, r.Runs.Scalars["lr"], len(scalars))
	for i, v := range scalars {
		assert.Equal(t, [2]float64{float64(i + 1), float64(float32(v))}, r.Runs.Scalars["loss"][i], "loss %d", i)
		assert.Equal(t, [2]float64{float64(100 * (i + 1)), float64(float32(v / 2))}, r.Runs.Scalars["lr"][i], "lr %d", i)
	}
	for tag, vals := range sets {
		got := r.Runs.Histograms[tag]
		require.Len(t, got, 1, tag)
		want := r.Expected[tag]
		want.Step = 7
		assert.Equal(t, want, got[0], tag)
		h, err := NewHistogram(vals)
		require.NoError(t, err)
		assert.Equal(t, tbHistogram{Step: 7, Min: h.Min, Max: h.Max, Num: h.Num, Sum: h.Sum, SumSquares: h.SumSquares,
			BucketLimit: h.BucketLimit, Bucket: h.Bucket}, got[0], tag)
	}
	assert.Equal(t, [][3]any{{0.0, "text", []any{text}}}, r.Runs.Texts["model"])
}

// A logged Fit reads the same in TensorBoard as in ReadFile (whose figures
// TestCallbackLogsFit checks against Fit's).
func TestTensorBoardReadsFit(t *testing.T) {
	py := interopPython(t)
	dir := t.TempDir()
	cb, _, _ := fitLogged(t, dir, Options{Histograms: 5, Text: map[string]string{"flags": "`-epochs 3`"}})
	for _, f := range cb.Files() {
		r := readWithTensorBoard(t, py, filepath.Dir(f))
		want := map[string][][2]float64{}
		evs, err := ReadFile(f)
		require.NoError(t, err)
		hists := 0
		for _, ev := range evs {
			for _, v := range ev.Values {
				if v.HasScalar {
					want[v.Tag] = append(want[v.Tag], [2]float64{float64(ev.Step), float64(v.Scalar)})
				}
				if v.Histogram != nil {
					hists++
				}
			}
		}
		assert.Equal(t, want, r.Runs.Scalars, f)
		n := 0
		for _, hs := range r.Runs.Histograms {
			n += len(hs)
		}
		assert.Equal(t, hists, n, f)
	}
}
