package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// report is everything the bench prints.
type report struct {
	Command string   `json:"command"`
	Load    string   `json:"load_before"` // load average at the start
	LoadEnd string   `json:"load_after"`
	CPUs    int      `json:"cpus"`
	Results []result `json:"results"`
}

// printTable writes the results of one scenario as an aligned table.
func printTable(w io.Writer, sc scenario, rs []result) {
	fmt.Fprintf(w, "\n%s\n", sc.Title)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "supervisor\tmetric\tnodes\ttrials\tp50\tp90\tmax\tmean\ttarget\tresult\tload\tnote")
	for _, r := range rs {
		s := r.summary()
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			r.Supervisor, r.Metric, r.Nodes, s.Trials, r.format(s.P50), r.format(s.P90), r.format(s.Max), r.format(s.Mean),
			r.Target.Text, r.verdict(), r.Load, r.Note)
	}
	tw.Flush()
}

// printJSON writes the whole report as indented JSON.
func printJSON(w io.Writer, rep report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(rep)
}

// commandLine renders the bench's command line for people to paste: "go
// run ./cmd/twinebench ARGS" when it runs from a go run build, else its
// own path; arguments are quoted when the shell needs it.
func commandLine(argv0 string, args []string) string {
	prog := argv0
	if strings.Contains(argv0, "go-build") {
		prog = "go run ./cmd/twinebench"
	}
	parts := []string{prog}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`*?[]{}()<>|&;#~") {
			a = strconv.Quote(a)
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}
