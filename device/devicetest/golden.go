package devicetest

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/internal/safetensors"
)

// The golden files are an oracle independent of our own reference loops: PyTorch's
// answers (and, for the Philox ops, an independent Python Philox) for every op family,
// written once by golden/make_golden.py into testdata/golden/<family>.safetensors and
// committed. See that script for how each answer is computed; TestGoldenFilesAreCurrent
// regenerates them when PyTorch is present and fails if they drift.
//
// A file's "__metadata__" holds "cases", a JSON list of cases (a key, a name and the op's
// parameters); its tensors are "<key>.<role>", inputs and expected outputs. Each family
// has one runner below that turns a case into Backend calls and compares every output
// with GoldenTolerances; every tensor of every case must be used by its runner, so that a
// golden value cannot go unchecked.

//go:embed testdata/golden/*.safetensors
var goldenFiles embed.FS

// GoldenTolerances are the golden comparison's tolerances, by family (and by op where
// one family's ops round differently). The expected values are the float32 nearest to
// the exact answer (computed in float64), so a tolerance is the error a float32
// computation may make on the golden inputs, which are small (at most 33 terms in a sum)
// but include extreme values: zero means bit-for-bit; an Atol of 1.2e-38 admits a
// denormal result flushed to zero (GPUs may flush).
var GoldenTolerances = map[string]Tol{
	// K <= 33 products in float32, any order and FMA, against the exact sum; the
	// epilogue's activation adds its own rounding.
	"gemm": {Atol: 1e-5, Rtol: 2e-5},
	// float32 exp/tanh/erf; derivatives that read y = f(x) (sigmoid, tanh) inherit y's
	// rounding, about |dy|*2^-24 in absolute terms.
	"unary":   {Atol: 1e-6, Rtol: 1e-5},
	"softmax": {Atol: 1e-6, Rtol: 1e-5},
	// One IEEE operation, correctly rounded: one ulp for a GPU's division, and a
	// flushed denormal.
	"binary": {Atol: 1.2e-38, Rtol: 1.2e-7},
	// Two products and a sum (FMA or not).
	"axpby":  {Atol: 1e-6, Rtol: 1e-6},
	"reduce": {Atol: 1e-6, Rtol: 1e-5}, // sums of up to 33 values, any order
	// Logsumexp and logs in float32; a confident right answer's loss (1e-4 next to
	// logits of 1e4) must come out of a subtraction that keeps it.
	"loss":    {Atol: 1e-6, Rtol: 1e-5},
	"update":  {Atol: 1e-6, Rtol: 1e-5}, // three steps of each optimizer
	"dropout": {},
	"gather":  {},
	"im2col":  {},
	"col2im":  {Atol: 1e-6, Rtol: 1e-6}, // sums of up to KH*KW overlapping entries
	// Max pooling and its routing are exact; the average rounds a sum of up to 30.
	"pool": {Atol: 1e-6, Rtol: 1e-6},
	// Per-channel statistics of up to 15 values: y and dx combine several rounded
	// terms, and the running variance is unbiased (divides by M-1).
	"batchnorm": {Atol: 1e-5, Rtol: 1e-5},
	"augment":   {},
}

// goldenFamilies are the runners, one per golden file. Adding an op family is one
// function in golden/make_golden.py and one runner here.
var goldenFamilies = []struct {
	name string
	run  func(c *goldenCase)
}{
	{"gemm", goldenGemm}, {"unary", goldenUnary}, {"softmax", goldenSoftmax}, {"binary", goldenBinary},
	{"reduce", goldenReduce}, {"loss", goldenLoss}, {"update", goldenUpdate}, {"dropout", goldenDropout},
	{"gather", goldenGather}, {"conv", goldenConv}, {"pool", goldenPool}, {"batchnorm", goldenBatchNorm},
	{"augment", goldenAugment},
}

// Golden runs every case of every golden file on b and checks its outputs against
// PyTorch's within GoldenTolerances, one subtest per family.
func Golden(t *testing.T, b device.Backend) {
	files, err := loadGolden()
	require.NoError(t, err)
	var runners []string
	for _, fam := range goldenFamilies {
		runners = append(runners, fam.name)
	}
	var have []string
	for name := range files {
		have = append(have, name)
	}
	sort.Strings(have)
	sort.Strings(runners)
	require.Equal(t, runners, have, "devicetest: every golden file needs a runner in goldenFamilies, and every runner its file")
	for _, fam := range goldenFamilies {
		t.Run(fam.name, func(t *testing.T) {
			f := files[fam.name]
			for _, gc := range f.cases {
				c := &goldenCase{t: t, d: dev{t, b}, family: fam.name, goldenCaseHead: gc.goldenCaseHead, params: gc.params, file: f.file, used: map[string]bool{}}
				fam.run(c)
				c.allUsed()
			}
		})
	}
}

// goldenFile is one decoded golden file.
type goldenFile struct {
	file  *safetensors.File
	cases []goldenCaseRaw
}

type goldenCaseHead struct {
	Key  string `json:"key"`
	Name string `json:"name"`
}

type goldenCaseRaw struct {
	goldenCaseHead
	params json.RawMessage
}

var (
	goldenOnce  sync.Once
	goldenCache map[string]goldenFile
	goldenErr   error
)

// loadGolden decodes the embedded golden files once, by family name.
func loadGolden() (map[string]goldenFile, error) {
	goldenOnce.Do(func() {
		sub, err := fs.Sub(goldenFiles, "testdata/golden")
		if err != nil {
			goldenErr = err
			return
		}
		goldenCache, goldenErr = decodeGoldenDir(sub)
	})
	return goldenCache, goldenErr
}

// decodeGoldenDir reads every <family>.safetensors of fsys.
func decodeGoldenDir(fsys fs.FS) (map[string]goldenFile, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("devicetest: golden files: %w", err)
	}
	out := map[string]goldenFile{}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".safetensors")
		if !ok {
			continue
		}
		b, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("devicetest: golden file %s: %w", e.Name(), err)
		}
		g, err := decodeGolden(b)
		if err != nil {
			return nil, fmt.Errorf("devicetest: golden file %s: %w", e.Name(), err)
		}
		out[name] = g
	}
	return out, nil
}

// decodeGolden decodes one golden file: its tensors and its cases.
func decodeGolden(b []byte) (goldenFile, error) {
	f, err := safetensors.Decode(b)
	if err != nil {
		return goldenFile{}, err
	}
	var raws []json.RawMessage
	if err := json.Unmarshal([]byte(f.Metadata["cases"]), &raws); err != nil {
		return goldenFile{}, fmt.Errorf("metadata \"cases\": %w", err)
	}
	g := goldenFile{file: f}
	for i, r := range raws {
		var h goldenCaseHead
		if err := json.Unmarshal(r, &h); err != nil || h.Key == "" {
			return goldenFile{}, fmt.Errorf("metadata \"cases\"[%d]: no key (%v)", i, err)
		}
		g.cases = append(g.cases, goldenCaseRaw{h, r})
	}
	return g, nil
}

// goldenCase is one case of a golden file, being run on a backend.
type goldenCase struct {
	t      *testing.T
	d      dev
	family string
	goldenCaseHead
	params json.RawMessage
	file   *safetensors.File
	used   map[string]bool
}

// label names the case in messages: "gemm 003 (3x5x7 transA=true ...)".
func (c *goldenCase) label(what string) string {
	return fmt.Sprintf("golden %s %s (%s) %s", c.family, c.Key, c.Name, what)
}

// decode unmarshals the case's parameters into p (unknown fields are an error: the
// script and the runner must agree).
func (c *goldenCase) decode(p any) {
	c.t.Helper()
	var all map[string]json.RawMessage
	require.NoError(c.t, json.Unmarshal(c.params, &all), c.label("parameters"))
	delete(all, "key")
	delete(all, "name")
	rest, err := json.Marshal(all)
	require.NoError(c.t, err)
	dec := json.NewDecoder(strings.NewReader(string(rest)))
	dec.DisallowUnknownFields()
	require.NoError(c.t, dec.Decode(p), c.label("parameters"))
}

// tensor returns the case's tensor role, which must exist.
func (c *goldenCase) tensor(role string) *safetensors.Tensor {
	c.t.Helper()
	name := c.Key + "." + role
	tn := c.file.Tensor(name)
	if tn == nil {
		c.t.Fatalf("%s: the golden file has no tensor %q", c.label(""), name)
	}
	c.used[role] = true
	return tn
}

// has reports whether the case has a tensor role.
func (c *goldenCase) has(role string) bool { return c.file.Tensor(c.Key+"."+role) != nil }

// vals returns the float32 values of role.
func (c *goldenCase) vals(role string) []float32 {
	c.t.Helper()
	tn := c.tensor(role)
	if tn.DType != safetensors.F32 {
		c.t.Fatalf("%s: tensor %s is %s, want F32", c.label(""), role, tn.DType)
	}
	return tn.F32
}

// ints returns the integer values of role, which must fit in [lo, hi].
func (c *goldenCase) ints(role string, lo, hi int64) []int64 {
	c.t.Helper()
	tn := c.tensor(role)
	if tn.DType != safetensors.I64 {
		c.t.Fatalf("%s: tensor %s is %s, want I64", c.label(""), role, tn.DType)
	}
	for i, v := range tn.I64 {
		if v < lo || v > hi {
			c.t.Fatalf("%s: tensor %s[%d] = %d is outside [%d, %d]", c.label(""), role, i, v, lo, hi)
		}
	}
	return tn.I64
}

// in is a float32 buffer holding role's values.
func (c *goldenCase) in(role string) device.Buffer { return c.d.f32(c.vals(role)...) }

// optIn is in(role), or nil when the case has no such tensor.
func (c *goldenCase) optIn(role string) device.Buffer {
	if !c.has(role) {
		return nil
	}
	return c.in(role)
}

// i32 is an int32 buffer holding role's values.
func (c *goldenCase) i32(role string) device.Buffer {
	c.t.Helper()
	v := c.ints(role, math.MinInt32, math.MaxInt32)
	x := make([]int32, len(v))
	for i := range v {
		x[i] = int32(v[i])
	}
	return c.d.i32(x...)
}

// out is a float32 output buffer as long as role, filled with NaN so that an element the
// op does not write shows.
func (c *goldenCase) out(role string) device.Buffer {
	return c.d.f32(nans(c.tensor(role).Len())...)
}

// do fails the test if the op failed.
func (c *goldenCase) do(what string, err error) {
	c.t.Helper()
	require.NoError(c.t, err, c.label(what))
}

// check compares got with the expected tensor role within GoldenTolerances[tolKey].
func (c *goldenCase) check(tolKey, role string, got device.Buffer) {
	c.t.Helper()
	tl, ok := GoldenTolerances[tolKey]
	if !ok {
		panic("devicetest: no golden tolerance for " + tolKey)
	}
	tn := c.tensor(role)
	AssertClose(c.t, c.label(role), fmt.Sprint(tn.Shape), c.vals(role), c.d.read(got), tl.Atol, tl.Rtol)
}

// checkInts compares an int32 output with the expected tensor role exactly.
func (c *goldenCase) checkInts(role string, got device.Buffer) {
	c.t.Helper()
	want := c.ints(role, math.MinInt32, math.MaxInt32)
	g := c.d.readI(got)
	w := make([]int32, len(want))
	for i := range want {
		w[i] = int32(want[i])
	}
	if !slices.Equal(w, g) {
		c.t.Errorf("%s: got %v, want %v", c.label(role), g, w)
	}
}

// allUsed fails the test if the runner left a tensor of the case unread.
func (c *goldenCase) allUsed() {
	c.t.Helper()
	prefix := c.Key + "."
	for _, tn := range c.file.Tensors {
		if role, ok := strings.CutPrefix(tn.Name, prefix); ok && !c.used[role] {
			c.t.Errorf("%s: the runner does not use tensor %q", c.label(""), tn.Name)
		}
	}
}

// opByName finds the op of an enum whose String() is name.
func opByName[T namedOp](t *testing.T, name string, last T) T {
	t.Helper()
	for op := range last + 1 {
		if op.String() == name {
			return op
		}
	}
	t.Fatalf("devicetest: golden file names op %q, which is not one of %s(0..%d)", name, fmt.Sprintf("%T", last), last)
	return 0
}

type namedOp interface {
	~uint8
	String() string
}

// goldenGeom is a ConvGeom as the golden files spell it.
type goldenGeom struct {
	N, C, H, W int
	KH         int `json:"kh"`
	KW         int `json:"kw"`
	StrideH    int `json:"stride_h"`
	StrideW    int `json:"stride_w"`
	PadH       int `json:"pad_h"`
	PadW       int `json:"pad_w"`
}

func (g goldenGeom) geom() device.ConvGeom {
	return device.ConvGeom{N: g.N, C: g.C, H: g.H, W: g.W, KH: g.KH, KW: g.KW, StrideH: g.StrideH, StrideW: g.StrideW, PadH: g.PadH, PadW: g.PadW}
}

// goldenGemm: C = Alpha*op(A)*op(B) + Beta*C with the optional bias and activation
// epilogue, plain, strided-batched, and a dense layer's backward products (whose
// expected values come from autograd).
func goldenGemm(c *goldenCase) {
	var p struct {
		M, N, K     int
		TransA      bool `json:"trans_a"`
		TransB      bool `json:"trans_b"`
		Alpha, Beta float32
		Batch       int
		StrideA     int `json:"stride_a"`
		StrideB     int `json:"stride_b"`
		StrideC     int `json:"stride_c"`
		Act         string
		ActParam    float32 `json:"act_param"`
	}
	c.decode(&p)
	out := c.in("c")
	g := device.GemmArgs{TransA: p.TransA, TransB: p.TransB, M: p.M, N: p.N, K: p.K, Alpha: p.Alpha, Beta: p.Beta,
		A: c.in("a"), B: c.in("b"), C: out, Batch: p.Batch, StrideA: p.StrideA, StrideB: p.StrideB, StrideC: p.StrideC,
		Bias: c.optIn("bias")}
	if p.Act != "" {
		g.ActOn, g.Act, g.ActParam = true, opByName(c.t, p.Act, device.GELU), p.ActParam
	}
	c.do("gemm", c.d.b.Gemm(g))
	c.check("gemm", "want", out)
}

// goldenUnary: y = f(x), then dx = dy*f'(x) from x and the golden y, and from y alone
// where the op allows it (UnaryOp.DerivativeFromOutput).
func goldenUnary(c *goldenCase) {
	var p struct {
		Op string
		P  float32
	}
	c.decode(&p)
	op := opByName(c.t, p.Op, device.GELU)
	x, y := c.in("x"), c.out("y")
	c.do("unary", c.d.b.Unary(op, x, y, p.P))
	c.check("unary", "y", y)
	yg, dy, dx := c.in("y"), c.in("dy"), c.out("dx")
	c.do("unary backward", c.d.b.UnaryBackward(op, x, yg, dy, dx, p.P))
	c.check("unary", "dx", dx)
	if op.DerivativeFromOutput(p.P) {
		dx := c.out("dx")
		c.do("unary backward from y", c.d.b.UnaryBackward(op, yg, yg, dy, dx, p.P))
		c.check("unary", "dx", dx)
	}
}

// goldenSoftmax: y = softmax(x) by rows, then dx from the golden y and dy.
func goldenSoftmax(c *goldenCase) {
	var p struct{ Rows, Cols int }
	c.decode(&p)
	y := c.out("y")
	c.do("softmax", c.d.b.Softmax(c.in("x"), y, p.Rows, p.Cols))
	c.check("softmax", "y", y)
	dx := c.out("dx")
	c.do("softmax backward", c.d.b.SoftmaxBackward(c.in("y"), c.in("dy"), dx, p.Rows, p.Cols))
	c.check("softmax", "dx", dx)
}

// goldenBinary: Binary (c = a op b), Broadcast (b is v over the middle axis) and Axpby
// (b is y).
func goldenBinary(c *goldenCase) {
	var p struct {
		Kind, Op          string
		Outer, Mid, Inner int
		Alpha, Beta       float32
	}
	c.decode(&p)
	a, b := c.in("a"), c.in("b")
	switch p.Kind {
	case "binary":
		out := c.out("want")
		c.do("binary", c.d.b.Binary(opByName(c.t, p.Op, device.Div), a, b, out))
		c.check("binary", "want", out)
	case "broadcast":
		out := c.out("want")
		c.do("broadcast", c.d.b.Broadcast(opByName(c.t, p.Op, device.Div), a, b, out, device.Shape3{Outer: p.Outer, Mid: p.Mid, Inner: p.Inner}))
		c.check("binary", "want", out)
	case "axpby":
		c.do("axpby", c.d.b.Axpby(p.Alpha, a, p.Beta, b))
		c.check("axpby", "want", b)
	default:
		c.t.Fatalf("%s: unknown kind %q", c.label(""), p.Kind)
	}
}

// goldenReduce: each reduction over the middle axis; ArgMax into int32.
func goldenReduce(c *goldenCase) {
	var p struct {
		Op                string
		Outer, Mid, Inner int
	}
	c.decode(&p)
	op, s := opByName(c.t, p.Op, device.LastReduceOp), device.Shape3{Outer: p.Outer, Mid: p.Mid, Inner: p.Inner}
	x := c.in("x")
	if op == device.ArgMax {
		y := c.d.i32(make([]int32, s.Outer*s.Inner)...)
		c.do("reduce", c.d.b.Reduce(op, x, y, s))
		c.checkInts("want", y)
		return
	}
	y := c.out("want")
	c.do("reduce", c.d.b.Reduce(op, x, y, s))
	c.check("reduce", "want", y)
}

// goldenLoss: Loss (per-row losses, probabilities, correct flags), then LossBackward.
func goldenLoss(c *goldenCase) {
	var p struct {
		Op         string
		Rows, Cols int
		Scale      float32
	}
	c.decode(&p)
	op := opByName(c.t, p.Op, device.MSE)
	a := device.LossArgs{Op: op, Rows: p.Rows, Cols: p.Cols, Input: c.in("input"), Loss: c.out("loss"), Grad: c.out("grad"), Scale: p.Scale}
	if c.has("labels") {
		a.Labels = c.i32("labels")
	}
	a.Target = c.optIn("target")
	if c.has("probs") {
		a.Probs = c.out("probs")
	}
	if c.has("correct") {
		a.Correct = c.out("correct")
	}
	c.do("loss", c.d.b.Loss(a))
	c.check("loss", "loss", a.Loss)
	if a.Probs != nil {
		c.check("loss", "probs", a.Probs)
	}
	if a.Correct != nil {
		c.check("loss", "correct", a.Correct)
	}
	c.do("loss backward", c.d.b.LossBackward(a))
	c.check("loss", "grad", a.Grad)
}

// goldenUpdate: Steps optimizer steps (Hyper.Step 1, 2, …) from zero state, one
// gradient each; then the parameters and the state.
func goldenUpdate(c *goldenCase) {
	var p struct {
		Op                string
		Steps             int
		LR, Momentum      float32
		Nesterov          bool
		Beta1, Beta2, Eps float32
		WeightDecay       float32 `json:"weight_decay"`
	}
	c.decode(&p)
	op := opByName(c.t, p.Op, device.AdamW)
	param, grads := c.in("param"), c.vals("grads")
	n := param.Len()
	require.Equal(c.t, p.Steps*n, len(grads), c.label("grads"))
	var m, v device.Buffer
	if op != device.SGD {
		m = c.d.f32(make([]float32, n)...)
	}
	if op == device.Adam || op == device.AdamW {
		v = c.d.f32(make([]float32, n)...)
	}
	g := c.d.alloc(device.Float32, n)
	h := device.Hyper{LR: p.LR, Momentum: p.Momentum, Nesterov: p.Nesterov, Beta1: p.Beta1, Beta2: p.Beta2, Eps: p.Eps, WeightDecay: p.WeightDecay}
	for t := 1; t <= p.Steps; t++ {
		c.d.write(g, grads[(t-1)*n:t*n])
		h.Step = t
		c.do(fmt.Sprintf("update step %d", t), c.d.b.Update(op, h, param, g, m, v))
	}
	c.check("update", "want_param", param)
	if m != nil {
		c.check("update", "want_m", m)
	}
	if v != nil {
		c.check("update", "want_v", v)
	}
}

// goldenDropout: the mask against an independent Python Philox, bit for bit.
func goldenDropout(c *goldenCase) {
	var p struct {
		Rate   float32
		Seed   uint64 `json:",string"`
		Offset uint64 `json:",string"`
		N      int
	}
	c.decode(&p)
	mask := c.out("mask")
	c.do("dropout", c.d.b.DropoutMask(mask, p.Rate, p.Seed, p.Offset))
	c.check("dropout", "mask", mask)
}

// goldenGather: float32, uint8 (widened and scaled) and int32 rows.
func goldenGather(c *goldenCase) {
	var p struct {
		Kind   string
		RowLen int `json:"row_len"`
		Scale  float32
	}
	c.decode(&p)
	idx := c.i32("idx")
	switch p.Kind {
	case "float32", "uint8":
		var src device.Buffer
		if p.Kind == "uint8" {
			v := c.ints("src", 0, 255)
			u := make([]uint8, len(v))
			for i := range v {
				u[i] = uint8(v[i])
			}
			src = c.d.u8(u...)
		} else {
			src = c.in("src")
		}
		dst := c.out("want")
		c.do("gather", c.d.b.Gather(dst, src, idx, p.RowLen, p.Scale))
		c.check("gather", "want", dst)
	case "int32":
		dst := c.d.i32(make([]int32, len(c.ints("want", math.MinInt32, math.MaxInt32)))...)
		c.do("gather", c.d.b.Gather(dst, c.i32("src"), idx, p.RowLen, p.Scale))
		c.checkInts("want", dst)
	default:
		c.t.Fatalf("%s: unknown kind %q", c.label(""), p.Kind)
	}
}

// goldenConv: Im2Col against torch's unfold, Col2Im against fold (and unfold's gradient).
func goldenConv(c *goldenCase) {
	var p goldenGeom
	c.decode(&p)
	g := p.geom()
	col := c.out("col")
	c.do("im2col", c.d.b.Im2Col(c.in("x"), col, g))
	c.check("im2col", "col", col)
	dx := c.out("dx")
	c.do("col2im", c.d.b.Col2Im(c.in("dcol"), dx, g))
	c.check("col2im", "dx", dx)
}

// goldenPool: Pool, then PoolBackward from x, the golden y and dy.
func goldenPool(c *goldenCase) {
	var p struct {
		Op string
		goldenGeom
	}
	c.decode(&p)
	op, g := opByName(c.t, p.Op, device.AvgPool), p.geom()
	x, y := c.in("x"), c.out("y")
	c.do("pool", c.d.b.Pool(op, x, y, g))
	c.check("pool", "y", y)
	dx := c.out("dx")
	c.do("pool backward", c.d.b.PoolBackward(op, x, c.in("y"), c.in("dy"), dx, g))
	c.check("pool", "dx", dx)
}

// goldenBatchNorm: training forward (y, saved statistics, running statistics), its
// backward, then inference with the initial running statistics.
func goldenBatchNorm(c *goldenCase) {
	var p struct {
		N, C, Inner   int
		Momentum, Eps float32
	}
	c.decode(&p)
	a := device.BatchNormArgs{N: p.N, C: p.C, Inner: p.Inner, Training: true, Momentum: p.Momentum, Eps: p.Eps,
		X: c.in("x"), Y: c.out("y"), Gamma: c.in("gamma"), Beta: c.in("beta"), RunMean: c.in("run_mean"), RunVar: c.in("run_var"),
		SaveMean: c.out("save_mean"), SaveInvStd: c.out("save_invstd"), DY: c.in("dy"), DX: c.out("dx"),
		// Zero, not NaN: parameter gradients may come to accumulate (+=).
		DGamma: c.d.f32(make([]float32, p.C)...), DBeta: c.d.f32(make([]float32, p.C)...)}
	c.do("batchnorm", c.d.b.BatchNorm(a))
	c.check("batchnorm", "y", a.Y)
	c.check("batchnorm", "save_mean", a.SaveMean)
	c.check("batchnorm", "save_invstd", a.SaveInvStd)
	c.check("batchnorm", "want_run_mean", a.RunMean)
	c.check("batchnorm", "want_run_var", a.RunVar)
	c.do("batchnorm backward", c.d.b.BatchNormBackward(a))
	c.check("batchnorm", "dx", a.DX)
	c.check("batchnorm", "dgamma", a.DGamma)
	c.check("batchnorm", "dbeta", a.DBeta)
	a.Training, a.Y, a.RunMean, a.RunVar = false, c.out("y_inference"), c.in("run_mean"), c.in("run_var")
	c.do("batchnorm inference", c.d.b.BatchNorm(a))
	c.check("batchnorm", "y_inference", a.Y)
}

// goldenAugment: shifted and flipped images against an independent numpy
// implementation of device.AugmentArgs' rule, bit for bit.
func goldenAugment(c *goldenCase) {
	var p struct {
		N, C, H, W int
		MaxShift   int    `json:"max_shift"`
		FlipH      bool   `json:"flip_h"`
		Seed       uint64 `json:",string"`
		Offset     uint64 `json:",string"`
	}
	c.decode(&p)
	y := c.out("y")
	c.do("augment", c.d.b.Augment(c.in("x"), y, device.AugmentArgs{N: p.N, C: p.C, H: p.H, W: p.W, MaxShift: p.MaxShift, FlipH: p.FlipH, Seed: p.Seed, Offset: p.Offset}))
	c.check("augment", "y", y)
}
