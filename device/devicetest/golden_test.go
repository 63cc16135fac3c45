package devicetest

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/internal/interop"
	"github.com/gputrain/gputrain/internal/safetensors"
)

// The committed golden files are what golden/make_golden.py writes today: the script is
// run into a temporary directory (with PyTorch from the interop environment; the test
// skips without it, and fails when GPUTRAIN_REQUIRE_INTEROP=1, as in CI) and every file
// compared with goldenDrift. Inputs and metadata must be bit-identical; a float32 value
// may move by one ulp, since the answers are float64 results rounded to float32 and
// another CPU's float64 kernels (summation order, libm) may land on the other side of a
// rounding boundary. On this machine the regeneration is bit-identical.
func TestGoldenFilesAreCurrent(t *testing.T) {
	py := interop.Python(t, "torch and safetensors", "import torch, safetensors.torch, numpy")
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "golden/make_golden.py", "--out", dir).CombinedOutput()
	require.NoError(t, err, "golden/make_golden.py --out %s:\n%s", dir, out)
	fresh, err := decodeGoldenDir(os.DirFS(dir))
	require.NoError(t, err)
	committed, err := loadGolden()
	require.NoError(t, err)
	problems, ulps := goldenDrift(committed, fresh)
	for _, p := range problems {
		t.Error(p)
	}
	if len(problems) > 0 {
		t.Logf("the committed golden files differ from what golden/make_golden.py writes now: run `make golden` and commit testdata/golden (%s)",
			fresh[goldenFamilies[0].name].file.Metadata["versions"])
	}
	if ulps > 0 {
		t.Logf("%d golden values differ from the regenerated ones by one ulp (allowed)", ulps)
	}
}

// goldenDrift compares two sets of golden files: the same families, the same metadata
// (but "versions"), the same tensor names, dtypes and shapes, the same integers, and
// float32 values at most one ulp apart (a NaN matches a NaN). It returns what differs
// and how many float32 values are one ulp apart.
func goldenDrift(committed, fresh map[string]goldenFile) (problems []string, oneUlp int) {
	keys := func(m map[string]goldenFile) []string {
		var k []string
		for name := range m {
			k = append(k, name)
		}
		sort.Strings(k)
		return k
	}
	if a, b := keys(committed), keys(fresh); !slices.Equal(a, b) {
		problems = append(problems, fmt.Sprintf("families: committed %v, regenerated %v", a, b))
	}
	for _, name := range keys(committed) {
		fr, ok := fresh[name]
		if !ok {
			continue
		}
		c, f := committed[name].file, fr.file
		for k, v := range c.Metadata {
			if k != "versions" && f.Metadata[k] != v {
				problems = append(problems, fmt.Sprintf("%s: metadata %q differs (committed %d bytes, regenerated %d)", name, k, len(v), len(f.Metadata[k])))
			}
		}
		for k := range f.Metadata {
			if _, ok := c.Metadata[k]; !ok {
				problems = append(problems, fmt.Sprintf("%s: metadata %q is new", name, k))
			}
		}
		if len(c.Tensors) != len(f.Tensors) {
			problems = append(problems, fmt.Sprintf("%s: %d tensors committed, %d regenerated", name, len(c.Tensors), len(f.Tensors)))
		}
		for i := range c.Tensors {
			ct := &c.Tensors[i]
			ft := f.Tensor(ct.Name)
			if ft == nil {
				problems = append(problems, fmt.Sprintf("%s: tensor %s is gone", name, ct.Name))
				continue
			}
			if ct.DType != ft.DType || !slices.Equal(ct.Shape, ft.Shape) {
				problems = append(problems, fmt.Sprintf("%s: tensor %s is %s %v committed, %s %v regenerated", name, ct.Name, ct.DType, ct.Shape, ft.DType, ft.Shape))
				continue
			}
			if ct.DType == safetensors.I64 {
				if !slices.Equal(ct.I64, ft.I64) {
					problems = append(problems, fmt.Sprintf("%s: tensor %s: committed %v, regenerated %v", name, ct.Name, ct.I64, ft.I64))
				}
				continue
			}
			for j := range ct.F32 {
				switch d := ulpDistance(ct.F32[j], ft.F32[j]); {
				case d == 1:
					oneUlp++
				case d > 1:
					problems = append(problems, fmt.Sprintf("%s: tensor %s%v[%d]: committed %g, regenerated %g (%d ulps apart)",
						name, ct.Name, ct.Shape, j, ct.F32[j], ft.F32[j], d))
				}
			}
		}
	}
	return problems, oneUlp
}

// ulpDistance is the number of float32 values between a and b (0 when both are NaN,
// and for -0 and +0; MaxUint32 when one only is NaN).
func ulpDistance(a, b float32) uint64 {
	an, bn := a != a, b != b
	if an || bn {
		if an && bn {
			return 0
		}
		return math.MaxUint32
	}
	ord := func(x float32) int64 { // float32 order as integers: -0 and +0 both 0
		u := math.Float32bits(x)
		if u&0x8000_0000 != 0 {
			return -int64(u & 0x7fff_ffff)
		}
		return int64(u)
	}
	d := ord(a) - ord(b)
	if d < 0 {
		d = -d
	}
	return uint64(d)
}

// The drift check can fail: a value two ulps off, a changed integer, a changed case and
// a missing family are all reported; one ulp is counted, not reported.
func TestGoldenDriftDetectsChanges(t *testing.T) {
	committed, err := loadGolden()
	require.NoError(t, err)
	copyOf := func() map[string]goldenFile {
		out := map[string]goldenFile{}
		for name, g := range committed {
			f := &safetensors.File{Metadata: map[string]string{}}
			for k, v := range g.file.Metadata {
				f.Metadata[k] = v
			}
			for _, tn := range g.file.Tensors {
				tn.F32, tn.I64 = slices.Clone(tn.F32), slices.Clone(tn.I64)
				f.Tensors = append(f.Tensors, tn)
			}
			out[name] = goldenFile{file: f, cases: g.cases}
		}
		return out
	}
	problems, ulps := goldenDrift(committed, copyOf())
	assert.Empty(t, problems)
	assert.Zero(t, ulps)

	fresh := copyOf()
	want := fresh["gemm"].file.Tensor("000.want")
	require.NotNil(t, want)
	want.F32[0] = math.Nextafter32(want.F32[0], float32(math.Inf(1)))
	problems, ulps = goldenDrift(committed, fresh)
	assert.Empty(t, problems, "one ulp is allowed")
	assert.Equal(t, 1, ulps)
	want.F32[0] = math.Nextafter32(want.F32[0], float32(math.Inf(1)))
	problems, _ = goldenDrift(committed, fresh)
	assert.Len(t, problems, 1)
	assert.Contains(t, problems[0], "gemm: tensor 000.want[1][0]")
	assert.Contains(t, problems[0], "2 ulps apart")

	fresh = copyOf()
	fresh["reduce"].file.Tensors[0].Shape = append(slices.Clone(fresh["reduce"].file.Tensors[0].Shape), 1)
	fresh["loss"].file.Tensor("000.labels").I64[0]++
	fresh["unary"].file.Metadata["cases"] += " "
	delete(fresh, "augment")
	problems, _ = goldenDrift(committed, fresh)
	assert.Len(t, problems, 4, "%q", problems)

	assert.Equal(t, uint64(0), ulpDistance(0, float32(math.Copysign(0, -1))))
	assert.Equal(t, uint64(2), ulpDistance(math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32))
	assert.Equal(t, uint64(math.MaxUint32), ulpDistance(float32(math.NaN()), 1))
}
