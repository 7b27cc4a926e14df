package main

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
)

// target is the goal a measurement is held to: upper bounds on some of its
// figures (0 = no bound).
type target struct {
	Text string  // for people: "p50 ≤ 30ms, max ≤ 150ms"
	P50  float64 // bound on the median
	Max  float64 // bound on the worst sample
	Mean float64 // bound on the mean
	// Zero bounds every sample at 0: a count of things that must never
	// happen (P50, Max and Mean cannot say "at most 0").
	Zero bool
}

// pass reports whether s meets every bound of t.
func (t target) pass(s summary) bool {
	ok := s.Trials > 0 && s.Missing == 0
	if t.P50 > 0 {
		ok = ok && s.P50 <= t.P50
	}
	if t.Max > 0 {
		ok = ok && s.Max <= t.Max
	}
	if t.Mean > 0 {
		ok = ok && s.Mean <= t.Mean
	}
	if t.Zero {
		ok = ok && s.Max == 0
	}
	return ok
}

// result is one row of a table: one measurement of one supervisor.
type result struct {
	Scenario   string
	Metric     string // what a sample is, for the JSON output
	Supervisor string
	Nodes      int
	Unit       string    // ms, %, MB, B/s, writes or n (a count)
	Samples    []float64 // +Inf: the event did not happen within Limit
	Limit      float64   // in Unit; for "not replaced within" notes
	Target     target
	Note       string // why there are no samples, or what was odd
	Failed     bool   // the measurement could not be completed (see Note)
	Load       string // load average when the measurement began
}

// summary summarizes the result's samples.
func (r result) summary() summary { return summarize(r.Samples) }

// verdict is "pass", "fail" or "-" (no samples), with the number of
// missing samples.
func (r result) verdict() string {
	s := r.summary()
	switch {
	case s.Trials == 0 || r.Target == (target{Text: r.Target.Text}):
		return "-"
	case r.Target.pass(s):
		return "pass"
	case s.Missing > 0:
		return fmt.Sprintf("fail (%d/%d not replaced within %s)", s.Missing, s.Trials, r.format(r.Limit))
	default:
		return "fail"
	}
}

// format renders v in the result's unit: "12.3ms", "1.42s", "0.84%",
// "23.1MB", "812B/s", "61.3kB/s", "1.25MB/s", a count of writes as a bare
// number ("0", "0.33" for a mean); "-" for NaN and ">LIMIT" for +Inf.
func (r result) format(v float64) string {
	switch {
	case math.IsNaN(v):
		return "-"
	case math.IsInf(v, 1):
		return ">" + r.format(r.Limit)
	}
	switch r.Unit {
	case "ms":
		if v >= 1000 {
			return fmt.Sprintf("%.2fs", v/1000)
		}
		return fmt.Sprintf("%.1fms", v)
	case "%":
		return fmt.Sprintf("%.2f%%", v)
	case "B/s":
		switch {
		case v >= 1e6:
			return fmt.Sprintf("%.2fMB/s", v/1e6)
		case v >= 1e3:
			return fmt.Sprintf("%.1fkB/s", v/1e3)
		}
		return fmt.Sprintf("%.0fB/s", v)
	case "writes", "n":
		if v == math.Trunc(v) {
			return fmt.Sprintf("%.0f", v)
		}
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.1f%s", v, r.Unit)
	}
}

// MarshalJSON renders the result with its summary; missing samples and
// undefined figures are null.
func (r result) MarshalJSON() ([]byte, error) {
	s := r.summary()
	num := func(v float64) *float64 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
		v = math.Round(v*1000) / 1000
		return &v
	}
	samples := make([]*float64, len(r.Samples))
	for i, v := range r.Samples {
		samples[i] = num(v)
	}
	return json.Marshal(struct {
		Scenario   string     `json:"scenario"`
		Metric     string     `json:"metric"`
		Supervisor string     `json:"supervisor"`
		Nodes      int        `json:"nodes"`
		Unit       string     `json:"unit"`
		Trials     int        `json:"trials"`
		Missing    int        `json:"missing"`
		Limit      *float64   `json:"limit,omitempty"`
		P50        *float64   `json:"p50"`
		P90        *float64   `json:"p90"`
		Max        *float64   `json:"max"`
		Mean       *float64   `json:"mean"`
		Target     string     `json:"target"`
		Pass       bool       `json:"pass"`
		Note       string     `json:"note,omitempty"`
		Failed     bool       `json:"failed"`
		Load       string     `json:"load"`
		Samples    []*float64 `json:"samples"`
	}{
		r.Scenario, r.Metric, r.Supervisor, r.Nodes, r.Unit, s.Trials, s.Missing, num(r.Limit),
		num(s.P50), num(s.P90), num(s.Max), num(s.Mean), r.Target.Text, r.Target.pass(s),
		r.Note, r.Failed, r.Load, samples,
	})
}

// notes joins the non-empty notes.
func notes(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "; ")
}
