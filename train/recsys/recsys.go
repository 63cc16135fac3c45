// Package recsys is the recommender side of training: it turns a ratings table
// (train/data.Ratings) into the inputs of nn.MF and nn.TwoTower (Features), measures a
// rating model on a held-out part — RMSE and MAE of its ratings, and HitRate@10 and
// NDCG@10 of its ranking of each user's best held-out item against sampled items the
// user never rated (Evaluator) — and fits the baselines a recommender must beat: the
// global mean and the user+item biases (Biases).
//
// A ranking is judged the way the NCF paper (He et al., 2017) and most recommender
// papers since judge it: for each user of the part, the positive is the item the user
// rated highest in that part (the first such row on ties), and Negatives items the user
// never rated anywhere in the data set are drawn at random (seeded, the same every
// epoch); the model scores all of them, and the positive's rank is 1 + the number of
// negatives scored at least as high (ties count against the model). HitRate@K is the
// fraction of users whose positive ranks in the top K; NDCG@K the mean of
// 1/log2(1 + rank) over them (0 past K).
package recsys

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	gt "gorgonia.org/tensor"

	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/train"
	"github.com/gputrain/gputrain/train/data"
)

// Features encodes (user, item) pairs as a model's inputs: the two dense ids, then, for
// a model with side fields (nn.TwoTower), the level of each user field and of each item
// field. A side field of the data is a user field when every user has one level of it
// throughout the file (InstEval's studage), an item field when every item has (dept);
// a field that varies within users and within items (lectage, service: facts about a
// rating, unknown for the unrated pairs a ranking scores) is left out, and so is a
// field with one level.
type Features struct {
	// UserFields and ItemFields are the indices of the side fields used, into
	// data.Ratings.Side; Dropped names the side fields left out.
	UserFields, ItemFields []int
	Dropped                []string

	side             bool
	userCode         [][]int32 // userCode[k][u]: user u's level of user field k
	itemCode         [][]int32
	userLev, itemLev []int
}

// NewFeatures reads the side fields of all (the whole data set) when side is set, and
// encodes pairs as (user, item) alone otherwise (nn.MF).
func NewFeatures(all *data.Ratings, side bool) *Features {
	f := &Features{side: side}
	if !side {
		return f
	}
	for j, s := range all.Side {
		if len(s.Levels) < 2 {
			f.Dropped = append(f.Dropped, s.Name)
			continue
		}
		if code, ok := function(all.Users, s.Codes, all.NumUsers()); ok {
			f.UserFields, f.userCode, f.userLev = append(f.UserFields, j), append(f.userCode, code), append(f.userLev, len(s.Levels))
		} else if code, ok := function(all.Items, s.Codes, all.NumItems()); ok {
			f.ItemFields, f.itemCode, f.itemLev = append(f.ItemFields, j), append(f.itemCode, code), append(f.itemLev, len(s.Levels))
		} else {
			f.Dropped = append(f.Dropped, s.Name)
		}
	}
	return f
}

// function reports whether codes is a function of keys (every key has one code) and
// returns it by key (keys without rows get level 0).
func function(keys, codes []int32, n int) ([]int32, bool) {
	out := make([]int32, n)
	seen := make([]bool, n)
	for r, k := range keys {
		if !seen[k] {
			seen[k], out[k] = true, codes[r]
		} else if out[k] != codes[r] {
			return nil, false
		}
	}
	return out, true
}

// Width is the number of ids per example.
func (f *Features) Width() int { return 2 + len(f.UserFields) + len(f.ItemFields) }

// Levels returns the number of levels of each user and each item field used, for
// nn.TwoTower's UserFields and ItemFields.
func (f *Features) Levels() (user, item []int) { return f.userLev, f.itemLev }

// Describe names the fields used and left out, for logs.
func (f *Features) Describe(all *data.Ratings) string {
	if !f.side {
		return "inputs: user and item ids"
	}
	names := func(idx []int) []string {
		var out []string
		for _, j := range idx {
			out = append(out, all.Side[j].Name)
		}
		return out
	}
	s := fmt.Sprintf("inputs: user and item ids; user fields %v, item fields %v", names(f.UserFields), names(f.ItemFields))
	if len(f.Dropped) > 0 {
		s += fmt.Sprintf("; left out %v (they vary within users and within items: facts about a rating, unknown for unrated pairs)", f.Dropped)
	}
	return s
}

// Encode writes the inputs of the pairs (users[r], items[r]) into a new (n, Width())
// int32 array.
func (f *Features) Encode(users, items []int32) *gt.Dense {
	w := f.Width()
	x := make([]int32, len(users)*w)
	for r := range users {
		row := x[r*w : (r+1)*w]
		row[0], row[1] = users[r], items[r]
		for k, code := range f.userCode {
			row[2+k] = code[users[r]]
		}
		for k, code := range f.itemCode {
			row[2+len(f.userCode)+k] = code[items[r]]
		}
	}
	return gt.New(gt.WithShape(len(users), w), gt.WithBacking(x))
}

// Dataset is part's ratings as a training set: X the encoded pairs, Y (n, 1) the
// ratings (for nn.MSE).
func (f *Features) Dataset(part *data.Ratings) train.Dataset {
	y := append([]float32(nil), part.Values...)
	return train.Dataset{X: f.Encode(part.Users, part.Items), Y: gt.New(gt.WithShape(part.N, 1), gt.WithBacking(y))}
}

// Scorer predicts the ratings of the pairs (users[r], items[r]): a model (ModelScorer)
// or a baseline.
type Scorer func(users, items []int32) ([]float64, error)

// ModelScorer scores pairs with m, encoding them with f.
func ModelScorer(m *nn.Model, f *Features) Scorer {
	return func(users, items []int32) ([]float64, error) {
		y, err := m.Predict(f.Encode(users, items))
		if err != nil {
			return nil, err
		}
		v := y.Data().([]float32)
		out := make([]float64, len(v))
		for i, p := range v {
			out[i] = float64(p)
		}
		return out, nil
	}
}

// PartSeeds are the seeds of the validation and the test part's negatives for a run
// seeded seed (gputrain's -seed): streams of their own, apart from the split's.
func PartSeeds(seed uint64) (val, test uint64) { return seed*2 + 1, seed*2 + 2 }

// DefaultNegatives and DefaultK are the ranking protocol's sampled negatives per user
// and cut-off.
const (
	DefaultNegatives = 100
	DefaultK         = 10
)

// Evaluator measures scorers on one held-out part of a ratings data set.
type Evaluator struct {
	part *data.Ratings
	k    int
	// the ranking lists: user u's positive, then its negatives, for each user
	rankUsers, rankItems []int32
	lists                []int // start of each user's list in rankUsers
}

// Scores are a scorer's figures on a part.
type Scores struct {
	RMSE, MAE     float64
	HitRate, NDCG float64
	// Ratings is the part's number of ratings; Users the users ranked.
	Ratings, Users int
}

// NewEvaluator prepares the evaluation of part (a piece of all made by all.Split) with
// negatives sampled items per user and the cut-off k; seed draws the negatives (user u
// draws from a stream of its own, so the lists do not depend on the order of users).
// The error reports an empty part or bad counts.
func NewEvaluator(all, part *data.Ratings, negatives, k int, seed uint64) (*Evaluator, error) {
	if part == nil || part.N == 0 {
		return nil, fmt.Errorf("recsys: the evaluated part has no ratings")
	}
	if negatives < 1 || k < 1 {
		return nil, fmt.Errorf("recsys: negatives (%d) and k (%d) must be positive", negatives, k)
	}
	rated := make([]map[int32]bool, all.NumUsers())
	for r, u := range all.Users {
		if rated[u] == nil {
			rated[u] = map[int32]bool{}
		}
		rated[u][all.Items[r]] = true
	}
	best := map[int32]int{} // user → its best row of the part
	var users []int32
	for r, u := range part.Users {
		b, ok := best[u]
		if !ok {
			users = append(users, u)
			best[u] = r
		} else if part.Values[r] > part.Values[b] {
			best[u] = r
		}
	}
	sort.Slice(users, func(i, j int) bool { return users[i] < users[j] })
	e := &Evaluator{part: part, k: k}
	items := int32(all.NumItems())
	for _, u := range users {
		e.lists = append(e.lists, len(e.rankUsers))
		e.rankUsers = append(e.rankUsers, u)
		e.rankItems = append(e.rankItems, part.Items[best[u]])
		unrated := int(items) - len(rated[u])
		if unrated <= negatives {
			for i := range items {
				if !rated[u][i] {
					e.rankUsers, e.rankItems = append(e.rankUsers, u), append(e.rankItems, i)
				}
			}
			continue
		}
		rng := rand.New(rand.NewPCG(seed, uint64(u)))
		chosen := map[int32]bool{}
		for len(chosen) < negatives {
			i := rng.Int32N(items)
			if !rated[u][i] && !chosen[i] {
				chosen[i] = true
				e.rankUsers, e.rankItems = append(e.rankUsers, u), append(e.rankItems, i)
			}
		}
	}
	return e, nil
}

// RankingLists returns the ranking lists, for another system to score the same pairs
// (bench's PyTorch twin): user u's list is the pairs (users[j], items[j]) for j in
// [starts[k], starts[k+1]) (the last list runs to the end), its positive first.
func (e *Evaluator) RankingLists() (users, items []int32, starts []int) {
	return e.rankUsers, e.rankItems, e.lists
}

// K is the ranking cut-off.
func (e *Evaluator) K() int { return e.k }

// Evaluate scores the part's ratings and the ranking lists with s.
func (e *Evaluator) Evaluate(s Scorer) (Scores, error) {
	pred, err := s(e.part.Users, e.part.Items)
	if err != nil {
		return Scores{}, err
	}
	if len(pred) != e.part.N {
		return Scores{}, fmt.Errorf("recsys: the scorer gave %d predictions for %d ratings", len(pred), e.part.N)
	}
	var sq, abs float64
	for r, p := range pred {
		d := p - float64(e.part.Values[r])
		sq += d * d
		abs += math.Abs(d)
	}
	out := Scores{RMSE: math.Sqrt(sq / float64(e.part.N)), MAE: abs / float64(e.part.N), Ratings: e.part.N, Users: len(e.lists)}
	scores, err := s(e.rankUsers, e.rankItems)
	if err != nil {
		return Scores{}, err
	}
	if len(scores) != len(e.rankUsers) {
		return Scores{}, fmt.Errorf("recsys: the scorer gave %d scores for %d pairs", len(scores), len(e.rankUsers))
	}
	for j, lo := range e.lists {
		hi := len(scores)
		if j+1 < len(e.lists) {
			hi = e.lists[j+1]
		}
		rank := Rank(scores[lo], scores[lo+1:hi])
		if rank <= e.k {
			out.HitRate++
			out.NDCG += 1 / math.Log2(float64(rank)+1)
		}
	}
	out.HitRate /= float64(len(e.lists))
	out.NDCG /= float64(len(e.lists))
	return out, nil
}

// Rank is the 1-based rank of a positive scored pos among negatives: 1 + the number of
// negatives scored at least as high (a tie counts against the positive, so that a
// model scoring everything alike ranks last; a NaN score never ranks above).
func Rank(pos float64, negatives []float64) int {
	rank := 1
	for _, s := range negatives {
		if s >= pos || math.IsNaN(pos) {
			rank++
		}
	}
	return rank
}

// Metrics names the scores for EpochStats.Metrics with prefix ("val_", "test_"):
// rmse, mae, hr@K, ndcg@K.
func (e *Evaluator) Metrics(prefix string, s Scores) map[string]float64 {
	return map[string]float64{
		prefix + "rmse": s.RMSE, prefix + "mae": s.MAE,
		fmt.Sprintf("%shr@%d", prefix, e.k): s.HitRate, fmt.Sprintf("%sndcg@%d", prefix, e.k): s.NDCG,
	}
}

// Biases is the user+item bias baseline r̂ = μ + b_u + b_i, fitted by alternating
// regularised means (Koren's baseline predictor): b_i = Σ(r - μ - b_u)/(λ + n_i) over
// the item's ratings, then b_u = Σ(r - μ - b_i)/(λ + n_u), Iterations times. With λ = 0
// and one iteration it is the plain mean of the residuals.
type Biases struct {
	Mean       float64
	User, Item []float64
	Lambda     float64
}

// BiasIterations is how many alternating passes FitBiases makes (the fit has
// converged to 1e-6 by then on InstEval).
const BiasIterations = 10

// FitBiases fits the bias baseline on the ratings of trainPart with shrinkage lambda.
func FitBiases(trainPart *data.Ratings, lambda float64) *Biases {
	b := &Biases{Mean: trainPart.Mean(), User: make([]float64, trainPart.NumUsers()), Item: make([]float64, trainPart.NumItems()), Lambda: lambda}
	sum := make([]float64, max(len(b.User), len(b.Item)))
	cnt := make([]float64, len(sum))
	for range BiasIterations {
		for _, side := range []struct {
			own, other []int32
			b, ob      []float64
		}{{trainPart.Items, trainPart.Users, b.Item, b.User}, {trainPart.Users, trainPart.Items, b.User, b.Item}} {
			clear(sum)
			clear(cnt)
			for r, k := range side.own {
				sum[k] += float64(trainPart.Values[r]) - b.Mean - side.ob[side.other[r]]
				cnt[k]++
			}
			for k := range side.b {
				side.b[k] = sum[k] / (lambda + cnt[k])
				if cnt[k] == 0 {
					side.b[k] = 0
				}
			}
		}
	}
	return b
}

// Scorer is the baseline's Scorer.
func (b *Biases) Scorer() Scorer {
	return func(users, items []int32) ([]float64, error) {
		out := make([]float64, len(users))
		for r := range users {
			out[r] = b.Mean + b.User[users[r]] + b.Item[items[r]]
		}
		return out, nil
	}
}

// GlobalMean is the global-mean baseline: every pair scores mean.
func GlobalMean(mean float64) Scorer {
	return func(users, _ []int32) ([]float64, error) {
		out := make([]float64, len(users))
		for r := range out {
			out[r] = mean
		}
		return out, nil
	}
}

// BiasLambdas are the shrinkages TuneBiases tries.
var BiasLambdas = []float64{0, 1, 2, 5, 10, 25, 50}

// TuneBiases fits the bias baseline for each of BiasLambdas and keeps the one with the
// lowest RMSE on val (the validation part's evaluator): the strongest honest baseline.
func TuneBiases(trainPart *data.Ratings, val *Evaluator) (*Biases, Scores, error) {
	var best *Biases
	var bestS Scores
	for _, l := range BiasLambdas {
		b := FitBiases(trainPart, l)
		s, err := val.Evaluate(b.Scorer())
		if err != nil {
			return nil, Scores{}, err
		}
		if best == nil || s.RMSE < bestS.RMSE {
			best, bestS = b, s
		}
	}
	return best, bestS, nil
}
