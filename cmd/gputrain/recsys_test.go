package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/train/data"
)

// ratingsCSV writes a ratings file of users × items with a rank-2 structure, user and
// item offsets, a user-level side field (group), an item-level one (genre) and a
// per-rating one (hour), in a random order drawn from seed.
func ratingsCSV(t *testing.T, dir string, seed uint64) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	const users, items = 120, 60
	uf, vf := make([][2]float64, users), make([][2]float64, items)
	for u := range uf {
		uf[u] = [2]float64{rng.NormFloat64(), rng.NormFloat64()}
	}
	for i := range vf {
		vf[i] = [2]float64{rng.NormFloat64(), rng.NormFloat64()}
	}
	var b strings.Builder
	b.WriteString("user,item,group,genre,hour,stars\n")
	for u := range users {
		for i := range items {
			if rng.IntN(3) != 0 {
				continue
			}
			r := 3 + 0.8*(uf[u][0]*vf[i][0]+uf[u][1]*vf[i][1]) + 0.5*uf[u][0] - 0.5*vf[i][1] + 0.3*rng.NormFloat64()
			r = math.Max(1, math.Min(5, math.Round(r)))
			fmt.Fprintf(&b, "u%d,i%d,g%d,k%d,%d,%g\n", u, i, u%3, i%4, rng.IntN(24), r)
		}
	}
	p := filepath.Join(dir, fmt.Sprintf("ratings%d.csv", seed))
	require.NoError(t, os.WriteFile(p, []byte(b.String()), 0o644))
	return p
}

func metric(t *testing.T, m any, name string) float64 {
	t.Helper()
	v, ok := m.(map[string]any)[name].(float64)
	require.True(t, ok, "%s in %v", name, m)
	return v
}

// An mf run on a ratings file with a low-rank structure: the per-epoch validation
// figures reach the epoch lines, the history file and the JSON report; the model beats
// both baselines on the test part; the checkpoint serves recommendations of unrated
// items, best first; an unknown user is an error; a file whose ids are numbered
// otherwise is refused.
func TestRatingsMF(t *testing.T) {
	dir := t.TempDir()
	p := ratingsCSV(t, dir, 1)
	ds := "ratings:" + p + ":rating=stars"
	ck, hist := filepath.Join(dir, "mf.safetensors"), filepath.Join(dir, "hist.csv")
	var out, errb bytes.Buffer
	code := run([]string{"-device", "cpu", "-threads", "2", "-dataset", ds, "-model", "mf:dim=8,l2=0.05", "-epochs", "30", "-lr", "0.01",
		"-save", ck, "-history", hist, "-json"}, &out, &errb)
	require.Equal(t, 0, code, "stderr: %s", errb.String())
	text := out.String()
	assert.Contains(t, text, "inputs: user and item ids")
	assert.Contains(t, text, "model mf:dim=8,l2=0.05: mf users=120 items=60 dim=8")
	assert.Contains(t, text, "adam, batch 256, lr 0.01", "the ratings batch default, the -lr given")
	assert.Regexp(t, `epoch 30/30  loss [0-9.]+  val_loss [0-9.]+  val_rmse [0-9.]+  val_mae [0-9.]+  val_hr@10 [0-9.]+  val_ndcg@10 [0-9.]+`, text)
	lines := strings.Split(strings.TrimSpace(text), "\n")
	var r map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &r))
	rs := r["recsys"].(map[string]any)
	mf, biases, mean := rs["test"], rs["baseline_biases"], rs["baseline_global_mean"]
	t.Logf("test rmse: mf %.4f, biases %.4f, mean %.4f; hr@10: mf %.3f, biases %.3f", metric(t, mf, "rmse"), metric(t, biases, "rmse"),
		metric(t, mean, "rmse"), metric(t, mf, "hr@10"), metric(t, biases, "hr@10"))
	assert.Less(t, metric(t, mf, "rmse"), metric(t, biases, "rmse")-0.05, "mf learns the interactions the biases cannot")
	assert.Less(t, metric(t, biases, "rmse"), metric(t, mean, "rmse"))
	assert.Greater(t, metric(t, mf, "ndcg@10"), metric(t, biases, "ndcg@10"))
	assert.InDelta(t, metric(t, mf, "rmse")*metric(t, mf, "rmse"), r["test_loss"], 1e-9)
	all, err := data.LoadRatings(ds)
	require.NoError(t, err)
	assert.Equal(t, float64(all.N-int(0.8*float64(all.N))-int(0.1*float64(all.N))), rs["test_ratings"])
	history := r["history"].([]any)
	require.Len(t, history, 30)
	last := history[29].(map[string]any)
	assert.Contains(t, last["metrics"], "val_ndcg@10")

	f, err := os.Open(hist)
	require.NoError(t, err)
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	require.NoError(t, err)
	assert.Equal(t, []string{"val_hr@10", "val_mae", "val_ndcg@10", "val_rmse"}, rows[0][len(rows[0])-4:])
	assert.Len(t, rows, 31)

	// recommend: the user's unrated items, best first
	out.Reset()
	errb.Reset()
	code = run([]string{"recommend", "-resume", ck, "-user", "u7", "-k", "5", "-device", "cpu", "-json"}, &out, &errb)
	require.Equal(t, 0, code, "stderr: %s", errb.String())
	var rec recommendReport
	require.NoError(t, json.Unmarshal(out.Bytes(), &rec))
	require.Len(t, rec.Items, 5)
	rated := map[string]bool{}
	for r, u := range all.Users {
		if all.UserIDs[u] == "u7" {
			rated[all.ItemIDs[all.Items[r]]] = true
		}
	}
	assert.Equal(t, len(rated), rec.Rated)
	for i, it := range rec.Items {
		assert.False(t, rated[it.Item], "item %s is rated by u7", it.Item)
		if i > 0 {
			assert.GreaterOrEqual(t, rec.Items[i-1].Score, it.Score)
		}
	}
	out.Reset()
	require.Equal(t, 0, run([]string{"recommend", "-resume", ck, "-user", "u7", "-k", "3", "-device", "cpu"}, &out, &errb))
	assert.Contains(t, out.String(), "top 3 of the items user u7 has not rated")
	assert.Contains(t, out.String(), "  1  "+rec.Items[0].Item)

	errb.Reset()
	assert.Equal(t, 1, run([]string{"recommend", "-resume", ck, "-user", "stranger", "-device", "cpu"}, &out, &errb))
	assert.Contains(t, errb.String(), `user "stranger" is not in ratings:`)
	assert.Contains(t, errb.String(), "the model has no embedding for a new user")

	// the same ratings in another order number users and items otherwise
	other := ratingsCSV(t, dir, 1)
	src, err := os.ReadFile(other)
	require.NoError(t, err)
	ls := strings.Split(strings.TrimSpace(string(src)), "\n")
	ls[1], ls[len(ls)-1] = ls[len(ls)-1], ls[1]
	shuffled := filepath.Join(dir, "shuffled.csv")
	require.NoError(t, os.WriteFile(shuffled, []byte(strings.Join(ls, "\n")+"\n"), 0o644))
	errb.Reset()
	assert.Equal(t, 2, run([]string{"recommend", "-resume", ck, "-user", "u7", "-dataset", "ratings:" + shuffled + ":rating=stars", "-device", "cpu"}, &out, &errb))
	assert.Contains(t, errb.String(), "numbers its users and items otherwise than the data the model was trained on")

	errb.Reset()
	assert.Equal(t, 2, run([]string{"predict", "-resume", ck, "-device", "cpu"}, &out, &errb))
	assert.Contains(t, errb.String(), "is a recommender on ratings:")

	// -resume goes on with the run's settings (batch 256, the model)
	out.Reset()
	errb.Reset()
	code = run([]string{"-resume", ck, "-epochs", "31", "-device", "cpu"}, &out, &errb)
	require.Equal(t, 0, code, "stderr: %s", errb.String())
	assert.Contains(t, out.String(), "resumed from "+ck+": epoch 31, batch 0")
	assert.Contains(t, out.String(), "epoch 31/31")
	assert.Contains(t, out.String(), "batch 256")
}

// twotower reads the side fields that describe users (group) and items (genre), leaves
// out the one that describes ratings (hour), trains, and serves recommendations.
func TestRatingsTwoTower(t *testing.T) {
	dir := t.TempDir()
	p := ratingsCSV(t, dir, 2)
	ck := filepath.Join(dir, "tt.safetensors")
	var out, errb bytes.Buffer
	code := run([]string{"-device", "cpu", "-dataset", "ratings:" + p + ":rating=stars", "-model", "twotower:dim=8,hidden=16", "-epochs", "3",
		"-save", ck}, &out, &errb)
	require.Equal(t, 0, code, "stderr: %s", errb.String())
	assert.Contains(t, out.String(), "user fields [group], item fields [genre]; left out [hour]")
	assert.Contains(t, out.String(), "twotower users=120 items=60 user_fields=[3] item_fields=[4] dim=8 hidden=16")
	assert.Regexp(t, `  twotower +rmse [0-9.]+`, out.String())
	out.Reset()
	require.Equal(t, 0, run([]string{"recommend", "-resume", ck, "-user", "u3", "-k", "4", "-device", "cpu"}, &out, &errb), errb.String())
	assert.Contains(t, out.String(), "top 4 of the items user u3 has not rated")
}

// -precision reaches a recommender's Trainer: twotower's dense towers train in fp16,
// with the loss scaler whose scale the history records.
func TestRatingsPrecision(t *testing.T) {
	dir := t.TempDir()
	p := ratingsCSV(t, dir, 2)
	hist := filepath.Join(dir, "h.json")
	var out, errb bytes.Buffer
	code := run([]string{"-device", "cpu", "-dataset", "ratings:" + p + ":rating=stars", "-model", "twotower:dim=8,hidden=16", "-epochs", "1",
		"-precision", "fp16", "-history", hist}, &out, &errb)
	require.Equal(t, 0, code, "stderr: %s", errb.String())
	assert.Contains(t, out.String(), "precision fp16: dense and linear layers' GEMMs on float16")
	assert.Regexp(t, `  twotower +rmse [0-9.]+`, out.String())
	b, err := os.ReadFile(hist)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"loss_scale": 65536`)
}

func TestRatingsFlagErrors(t *testing.T) {
	dir := t.TempDir()
	p := ratingsCSV(t, dir, 3)
	ds := "ratings:" + p + ":rating=stars"
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-dataset", ds}, 2, "needs a recommender: -model mf"},
		{[]string{"-dataset", ds, "-model", "cnn"}, 2, "-model cnn takes images"},
		{[]string{"-model", "mf"}, 2, "-model mf is a recommender: it needs a ratings data set"},
		{[]string{"-dataset", ds, "-model", "mf", "-val-split", "0.2"}, 2, "-val-split does not apply"},
		{[]string{"-dataset", ds, "-model", "mf:dims=8"}, 2, `unknown option "dims" (want bias_l2, dim, l2, std)`},
		{[]string{"-dataset", ds, "-model", "mf:dim=8,dim=4"}, 2, "option dim given twice"},
		{[]string{"-dataset", ds, "-model", "mf:dim"}, 2, "option dim has no value"},
		{[]string{"-dataset", ds, "-model", "mf:dim=-3"}, 2, "dim=-3 is not a positive whole number"},
		{[]string{"-dataset", ds, "-model", "twotower:side=maybe"}, 2, "side=maybe is not true or false"},
		{[]string{"-dataset", ds, "-model", "mf:l2=NaN"}, 2, "l2=NaN is not a non-negative number"},
		{[]string{"-dataset", ds, "-model", "twotower:std=Inf"}, 2, "std=Inf is not a positive number"},
		{[]string{"-dataset", ds, "-model", "mf:dim=99999999999999999999"}, 2, "is not a positive whole number"},
		{[]string{"-dataset", ds, "-model", "mf:dim=100000000", "-max-memory", "1GB"}, 2, "needs "},
		{[]string{"-dataset", ds, "-model", "mf", "-augment", "2"}, 2, "-augment shifts images"},
		{[]string{"-dataset", "ratings:" + filepath.Join(dir, "none.csv"), "-model", "mf"}, 2, "none.csv"},
		{[]string{"recommend", "-user", "u1"}, 2, "-resume FILE names the recommender's checkpoint"},
		{[]string{"recommend", "-resume", "x", "-user", "u1", "-k", "0"}, 2, "invalid value \"0\" for flag -k: out of range (want >= 1)"},
	} {
		var out, errb bytes.Buffer
		code := run(append(c.args, "-device", "cpu"), &out, &errb)
		assert.Equal(t, c.code, code, "%v: %s", c.args, errb.String())
		assert.Contains(t, errb.String(), c.want, "%v", c.args)
	}
}

// The target on InstEval (when `make data-insteval` has made it): the mf
// preset, stopped early on the validation loss, beats the global mean and the tuned
// user+item biases on the test part.
func TestInstEvalMFBeatsBaselines(t *testing.T) {
	if _, err := os.Stat(filepath.Join("..", "..", data.DefaultInstEvalFile)); err != nil {
		t.Skipf("%s not found (make data-insteval)", data.DefaultInstEvalFile)
	}
	t.Chdir(filepath.Join("..", ".."))
	r := runJSON(t, "-device", "cpu", "-threads", "2", "-dataset", "insteval", "-model", "mf", "-epochs", "20", "-early-stop", "2")
	rs := r["recsys"].(map[string]any)
	mf, biases, mean := metric(t, rs["test"], "rmse"), metric(t, rs["baseline_biases"], "rmse"), metric(t, rs["baseline_global_mean"], "rmse")
	t.Logf("InstEval test RMSE: mf %.4f, biases %.4f, global mean %.4f", mf, biases, mean)
	assert.Less(t, mf, biases)
	assert.Less(t, biases, mean)
	assert.Equal(t, 2972.0, rs["users"])
}
