package tensorboard

import (
	"fmt"
	"math"
	"sort"
	"sync"
)

// Histogram is TensorBoard's HistogramProto: the count, extremes and sums of a set of
// values, and the counts of the buckets they fall in. Bucket i holds the values v with
// BucketLimit[i-1] <= v < BucketLimit[i] (the first bucket starts at -∞).
type Histogram struct {
	Min, Max, Num, Sum, SumSquares float64
	BucketLimit                    []float64
	Bucket                         []float64
}

// DefaultBucketLimits are TensorFlow's default histogram bucket limits (histogram.cc):
// ±1e-12·1.1ᵏ for every k with 1e-12·1.1ᵏ < 1e20 (each limit the previous one times
// 1.1, in float64), then ±DBL_MAX, and 0, in increasing order: 1,551 limits, from
// -DBL_MAX to DBL_MAX. The slice is shared: do not modify it.
var DefaultBucketLimits = sync.OnceValue(func() []float64 {
	var pos []float64
	for v := 1e-12; v < 1e20; v *= 1.1 {
		pos = append(pos, v)
	}
	pos = append(pos, math.MaxFloat64)
	limits := make([]float64, 0, 2*len(pos)+1)
	for i := len(pos) - 1; i >= 0; i-- {
		limits = append(limits, -pos[i])
	}
	limits = append(limits, 0)
	return append(limits, pos...)
})

// NewHistogram counts values into TensorFlow's default buckets (DefaultBucketLimits) and
// keeps, as TensorFlow's Histogram::EncodeToProto does, only the buckets that hold
// values, each run of empty buckets collapsed into one empty bucket ending at the run's
// last limit. With no values it is one empty bucket ending at DBL_MAX, with Min DBL_MAX
// and Max -DBL_MAX. Sums are taken in float64. A NaN or infinite value is an error that
// gives its index.
func NewHistogram(values []float32) (*Histogram, error) {
	limits := DefaultBucketLimits()
	counts := make([]float64, len(limits))
	h := &Histogram{Min: math.MaxFloat64, Max: -math.MaxFloat64, Num: float64(len(values))}
	for i, f := range values {
		v := float64(f)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("tensorboard: histogram: value %d of %d is %v", i, len(values), f)
		}
		// The first limit above v (C++'s upper_bound).
		counts[sort.Search(len(limits), func(j int) bool { return limits[j] > v })]++
		h.Min = min(h.Min, v)
		h.Max = max(h.Max, v)
		h.Sum += v
		h.SumSquares += v * v
	}
	for i := 0; i < len(counts); {
		end, count := limits[i], counts[i]
		i++
		if count == 0 {
			for i < len(counts) && counts[i] == 0 {
				end = limits[i]
				i++
			}
		}
		h.BucketLimit = append(h.BucketLimit, end)
		h.Bucket = append(h.Bucket, count)
	}
	return h, nil
}
