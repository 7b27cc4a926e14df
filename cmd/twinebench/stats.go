package main

import (
	"math"
	"slices"
)

// summary condenses the samples of one measurement. A sample of +Inf stands
// for a trial whose event did not happen within its limit (a node not
// replaced in time); it sorts last, so a percentile that lands on it is
// reported as "more than the limit".
type summary struct {
	Trials  int     // samples taken, missing ones included
	Missing int     // samples that are +Inf
	P50     float64 // nearest-rank percentiles
	P90     float64
	Max     float64
	Mean    float64 // of every sample; +Inf when any is missing
}

// summarize returns the summary of samples; it does not modify them. With
// no samples every figure is NaN.
func summarize(samples []float64) summary {
	s := summary{Trials: len(samples)}
	if len(samples) == 0 {
		nan := math.NaN()
		s.P50, s.P90, s.Max, s.Mean = nan, nan, nan, nan
		return s
	}
	sorted := slices.Clone(samples)
	slices.Sort(sorted)
	var sum float64
	for _, v := range sorted {
		if math.IsInf(v, 1) {
			s.Missing++
		}
		sum += v
	}
	s.P50 = percentile(sorted, 50)
	s.P90 = percentile(sorted, 90)
	s.Max = sorted[len(sorted)-1]
	s.Mean = sum / float64(len(sorted))
	return s
}

// percentile returns the nearest-rank p-th percentile (0 < p <= 100) of
// sorted: the smallest sample such that at least p % of the samples are
// less than or equal to it. sorted must be sorted ascending and not empty.
func percentile(sorted []float64, p float64) float64 {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}
