package main

import (
	"math"
	"testing"
)

func TestPercentileNearestRank(t *testing.T) {
	sorted := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, c := range []struct {
		p    float64
		want float64
	}{{50, 5}, {90, 9}, {91, 10}, {100, 10}, {1, 1}, {0.1, 1}} {
		if got := percentile(sorted, c.p); got != c.want {
			t.Errorf("p%v of 1..10 = %v, want %v", c.p, got, c.want)
		}
	}
	if got := percentile([]float64{42}, 90); got != 42 {
		t.Errorf("p90 of one sample = %v, want 42", got)
	}
}

func TestSummarize(t *testing.T) {
	in := []float64{30, 10, 20, 40}
	s := summarize(in)
	if s.Trials != 4 || s.Missing != 0 || s.P50 != 20 || s.P90 != 40 || s.Max != 40 || s.Mean != 25 {
		t.Errorf("summary of %v = %+v", in, s)
	}
	if in[0] != 30 {
		t.Errorf("summarize sorted its input: %v", in)
	}
}

func TestSummarizeMissing(t *testing.T) {
	inf := math.Inf(1)
	s := summarize([]float64{12, inf, 11, inf, 10})
	if s.Missing != 2 || s.P50 != 12 || !math.IsInf(s.P90, 1) || !math.IsInf(s.Max, 1) || !math.IsInf(s.Mean, 1) {
		t.Errorf("summary with two missing = %+v", s)
	}
	if s := summarize(nil); s.Trials != 0 || !math.IsNaN(s.P50) {
		t.Errorf("summary of nothing = %+v", s)
	}
}
