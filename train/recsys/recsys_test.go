package recsys_test

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/train/data"
	"github.com/gputrain/gputrain/train/recsys"
)

// table makes a ratings table of nu users and ni items from (user, item, rating) rows.
func table(nu, ni int, rows [][3]float64) *data.Ratings {
	r := &data.Ratings{Name: "test", N: len(rows)}
	for u := range nu {
		r.UserIDs = append(r.UserIDs, string(rune('a'+u)))
	}
	for i := range ni {
		r.ItemIDs = append(r.ItemIDs, string(rune('A'+i)))
	}
	for _, x := range rows {
		r.Users, r.Items, r.Values = append(r.Users, int32(x[0])), append(r.Items, int32(x[1])), append(r.Values, float32(x[2]))
	}
	return r
}

// A side field constant within each user goes to the user tower, one constant within
// each item to the item tower; one that varies within both, or has one level, is left
// out; Encode lays out user, item, user fields, item fields.
func TestFeatures(t *testing.T) {
	r := table(3, 2, [][3]float64{{0, 0, 5}, {0, 1, 3}, {1, 0, 4}, {2, 1, 1}})
	r.Side = []data.SideField{
		{Name: "service", Codes: []int32{0, 1, 1, 0}, Levels: []string{"0", "1"}},       // varies within user 0 and item 0
		{Name: "dept", Codes: []int32{0, 1, 0, 1}, Levels: []string{"x", "y"}},          // a function of the item
		{Name: "studage", Codes: []int32{2, 2, 0, 1}, Levels: []string{"2", "4", "6"}},  // a function of the user
		{Name: "constant", Codes: []int32{0, 0, 0, 0}, Levels: []string{"only"}},        // one level
		{Name: "both", Codes: []int32{0, 0, 0, 0}, Levels: []string{"first", "unused"}}, // a function of both: the user's
	}
	f := recsys.NewFeatures(r, true)
	assert.Equal(t, []int{2, 4}, f.UserFields)
	assert.Equal(t, []int{1}, f.ItemFields)
	assert.Equal(t, []string{"service", "constant"}, f.Dropped)
	assert.Equal(t, 5, f.Width())
	u, i := f.Levels()
	assert.Equal(t, []int{3, 2}, u)
	assert.Equal(t, []int{2}, i)
	x := f.Encode([]int32{2, 1}, []int32{0, 1})
	assert.Equal(t, []int32{2, 0, 1, 0, 0, 1, 1, 0, 0, 1}, x.Data())
	assert.Contains(t, f.Describe(r), "left out [service constant]")
	plain := recsys.NewFeatures(r, false)
	assert.Equal(t, 2, plain.Width())
	d := plain.Dataset(r)
	assert.Equal(t, []int32{0, 0, 0, 1, 1, 0, 2, 1}, d.X.Data())
	assert.Equal(t, []int{4, 1}, []int(d.Y.Shape()))
}

func TestRank(t *testing.T) {
	assert.Equal(t, 1, recsys.Rank(0.9, []float64{0.1, 0.5}))
	assert.Equal(t, 2, recsys.Rank(0.5, []float64{0.1, 0.5}), "a tie counts against the positive")
	assert.Equal(t, 3, recsys.Rank(0.5, []float64{0.7, 0.6, 0.2}))
	assert.Equal(t, 3, recsys.Rank(math.NaN(), []float64{0.7, 0.6}))
}

// The ranking lists: each user's best item of the part, then negatives the user never
// rated in the whole data set, distinct, the same for a seed; HitRate@10 and NDCG@10 of
// a scorer that ranks user 0's positive first and user 1's last are 1/2 and
// (1/log2(2) + 0)/2.
func TestEvaluatorRanking(t *testing.T) {
	const users, items = 2, 200
	var rows [][3]float64
	for i := range 50 { // user 0 rated items 0…49, user 1 items 100…149
		rows = append(rows, [3]float64{0, float64(i), float64(1 + i%5)}, [3]float64{1, float64(100 + i), 3})
	}
	all := table(users, items, rows)
	part := table(users, items, [][3]float64{{0, 3, 4}, {0, 7, 2}, {1, 120, 3}, {1, 121, 3}, {0, 9, 4}})
	e, err := recsys.NewEvaluator(all, part, 100, 10, 1)
	require.NoError(t, err)
	var seen [users]map[int32]bool
	var positive [users]int32
	scorer := func(us, is []int32) ([]float64, error) {
		out := make([]float64, len(us))
		for r := range us {
			u := us[r]
			if seen[u] == nil && len(us) > part.N {
				seen[u], positive[u] = map[int32]bool{}, is[r]
				out[r] = 10 - 20*float64(u) // user 0's positive on top, user 1's at the bottom
				continue
			}
			if len(us) > part.N {
				require.False(t, seen[u][is[r]], "negative %d of user %d drawn twice", is[r], u)
				seen[u][is[r]] = true
				lo := int32(100 * u)
				require.False(t, is[r] >= lo && is[r] < lo+50, "negative %d of user %d is an item the user rated", is[r], u)
			}
			out[r] = 0
		}
		return out, nil
	}
	s, err := e.Evaluate(scorer)
	require.NoError(t, err)
	assert.Equal(t, [users]int32{3, 120}, positive, "the best rating of the part (first on ties)")
	assert.Len(t, seen[0], 100)
	assert.Len(t, seen[1], 100)
	assert.Equal(t, 0.5, s.HitRate)
	assert.InDelta(t, 0.5, s.NDCG, 1e-12)
	assert.Equal(t, 2, s.Users)
	assert.Equal(t, 5, s.Ratings)
	// RMSE and MAE of the constant 0 against ratings 4 2 3 3 4.
	assert.InDelta(t, math.Sqrt((16+4+9+9+16)/5.0), s.RMSE, 1e-12)
	assert.InDelta(t, 16/5.0, s.MAE, 1e-12)
	m := e.Metrics("val_", s)
	assert.Equal(t, map[string]float64{"val_rmse": s.RMSE, "val_mae": s.MAE, "val_hr@10": 0.5, "val_ndcg@10": s.NDCG}, m)

	// The same seed draws the same lists; another seed others.
	lists := func(seed uint64) []int32 {
		e, err := recsys.NewEvaluator(all, part, 100, 10, seed)
		require.NoError(t, err)
		var got []int32
		_, err = e.Evaluate(func(us, is []int32) ([]float64, error) {
			if len(us) > part.N {
				got = append(got, is...)
			}
			return make([]float64, len(us)), nil
		})
		require.NoError(t, err)
		return got
	}
	assert.Equal(t, lists(1), lists(1))
	assert.NotEqual(t, lists(1), lists(2))

	_, err = recsys.NewEvaluator(all, table(users, items, nil), 100, 10, 1)
	assert.ErrorContains(t, err, "no ratings")
}

// Ratings that are exactly μ + a_u + c_i are fitted exactly by the unregularised
// biases; a huge λ leaves the global mean.
func TestBiases(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const nu, ni = 30, 20
	a, c := make([]float64, nu), make([]float64, ni)
	for u := range a {
		a[u] = rng.NormFloat64()
	}
	for i := range c {
		c[i] = rng.NormFloat64()
	}
	var rows [][3]float64
	for u := range nu {
		for i := range ni {
			if rng.IntN(3) > 0 || u == i {
				rows = append(rows, [3]float64{float64(u), float64(i), 3 + a[u] + c[i]})
			}
		}
	}
	r := table(nu, ni, rows)
	e, err := recsys.NewEvaluator(r, r, 5, 10, 1)
	require.NoError(t, err)
	s, err := e.Evaluate(recsys.FitBiases(r, 0).Scorer())
	require.NoError(t, err)
	assert.Less(t, s.RMSE, 0.02, "an additive table is fitted")
	mean := recsys.GlobalMean(r.Mean())
	want, err := e.Evaluate(mean)
	require.NoError(t, err)
	got, err := e.Evaluate(recsys.FitBiases(r, 1e12).Scorer())
	require.NoError(t, err)
	assert.InDelta(t, want.RMSE, got.RMSE, 1e-6)
	assert.Greater(t, want.RMSE, 1.0)
}

// On InstEval (when `make data-insteval` has made it): the tuned bias baseline beats
// the global mean on the test part, and its ranking beats chance (10/101).
func TestInstEvalBaselines(t *testing.T) {
	path := filepath.Join("..", "..", data.DefaultInstEvalFile)
	if _, err := os.Stat(path); err != nil {
		t.Skipf("%s not found (make data-insteval)", path)
	}
	all, err := data.LoadInstEval(path)
	require.NoError(t, err)
	tr, va, te := all.Split(1)
	val, err := recsys.NewEvaluator(all, va, recsys.DefaultNegatives, recsys.DefaultK, 1)
	require.NoError(t, err)
	test, err := recsys.NewEvaluator(all, te, recsys.DefaultNegatives, recsys.DefaultK, 2)
	require.NoError(t, err)
	b, _, err := recsys.TuneBiases(tr, val)
	require.NoError(t, err)
	sb, err := test.Evaluate(b.Scorer())
	require.NoError(t, err)
	sm, err := test.Evaluate(recsys.GlobalMean(tr.Mean()))
	require.NoError(t, err)
	t.Logf("test RMSE: global mean %.4f, biases (λ %g) %.4f; biases HR@10 %.3f NDCG@10 %.3f", sm.RMSE, b.Lambda, sb.RMSE, sb.HitRate, sb.NDCG)
	assert.Less(t, sb.RMSE, sm.RMSE-0.05)
	assert.Greater(t, sb.HitRate, 0.15)
	assert.Zero(t, sm.HitRate, "a constant scorer ranks every positive last")
}
