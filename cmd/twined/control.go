package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/twine/twine/config"
	"github.com/twine/twine/supervisor"
)

// controlActions are the POST /control/{action} actions and the flags of
// the same names.
var controlActions = []string{"stop", "start", "restart"}

// controlResult is the answer about one node of a control request.
type controlResult struct {
	Node    string           `json:"node"`
	OK      bool             `json:"ok"`
	State   supervisor.State `json:"state"`
	PID     int              `json:"pid"`
	Message string           `json:"message"`
	Elapsed float64          `json:"elapsed_seconds"`
}

// controlReply is the body of a control response.
type controlReply struct {
	Action  string          `json:"action"`
	Results []controlResult `json:"results"`
}

// controlTimeout bounds how long a control request waits for one node's
// change: a clean stop may take stop-timeout, a start a few seconds.
func controlTimeout(s config.Settings) time.Duration {
	return s.StopTimeout + 15*time.Second
}

// control serves POST /control/{stop,start,restart}?node=NAME|all. It
// waits until every named node has changed (or a timeout) and answers
// 200 when all did, 504 otherwise, with one result per node. "all" stops
// and starts every node in parallel and restarts them one at a time, each
// waiting for the previous to answer, so a partition set is never all
// down at once by the operator's hand.
func (h *httpd) control(w http.ResponseWriter, r *http.Request) {
	action := r.PathValue("action")
	if !slices.Contains(controlActions, action) {
		http.Error(w, fmt.Sprintf("unknown action %q (want stop, start or restart)", action), http.StatusNotFound)
		return
	}
	if !h.allowControl(w, r) {
		return
	}
	q, ok := query(w, r, "node")
	if !ok {
		return
	}
	name := q.Get("node")
	if name == "" || len(q["node"]) > 1 {
		http.Error(w, "give one node=NAME, or node=all", http.StatusBadRequest)
		return
	}
	snap := h.sup.Snapshot()
	var names []string
	if name == "all" {
		for _, n := range snap.Nodes {
			names = append(names, n.Name)
		}
	} else {
		known := make([]string, len(snap.Nodes))
		for i, n := range snap.Nodes {
			known[i] = n.Name
		}
		if !slices.Contains(known, name) {
			msg := fmt.Sprintf("unknown node %q on host %s", name, snap.Host)
			if c := config.Closest(name, known); c != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", c)
			}
			http.Error(w, msg, http.StatusNotFound)
			return
		}
		names = []string{name}
	}
	h.log.Info("control request", "action", action, "node", name, "from", r.RemoteAddr)
	timeout := controlTimeout(h.cluster.Load().Settings())
	reply := controlReply{Action: action, Results: make([]controlResult, len(names))}
	if action == "restart" && len(names) > 1 {
		for i, n := range names {
			reply.Results[i] = h.controlOne(r.Context(), action, n, timeout)
		}
	} else {
		var wg sync.WaitGroup
		for i, n := range names {
			wg.Go(func() { reply.Results[i] = h.controlOne(r.Context(), action, n, timeout) })
		}
		wg.Wait()
	}
	code := http.StatusOK
	for _, res := range reply.Results {
		if !res.OK {
			code = http.StatusGatewayTimeout
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(reply)
}

// controlOne carries out one action on one node and waits for its effect.
func (h *httpd) controlOne(ctx context.Context, action, name string, timeout time.Duration) controlResult {
	begin := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	before := nodeOf(h.sup.Snapshot(), name)
	var err error
	switch action {
	case "stop":
		err = h.sup.Stop(ctx, name)
	case "start":
		err = h.sup.StartNode(ctx, name)
	case "restart":
		err = h.sup.Restart(ctx, name)
	}
	res := controlResult{Node: name}
	if err != nil {
		res.Message = err.Error()
		return res
	}
	done := func(n supervisor.NodeStatus) bool {
		switch action {
		case "stop":
			return n.State == supervisor.Stopped
		case "start":
			return n.State.Alive()
		default:
			return n.State.Alive() && (before.PID == 0 || n.PID != before.PID)
		}
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		n := nodeOf(h.sup.Snapshot(), name)
		res.State, res.PID, res.Elapsed = n.State, n.PID, time.Since(begin).Seconds()
		if done(n) {
			res.OK = true
			res.Message = fmt.Sprintf("%s (was %s)", n.State, before.State)
			return res
		}
		select {
		case <-ctx.Done():
			res.Message = fmt.Sprintf("still %s after %s", n.State, time.Since(begin).Round(time.Millisecond))
			if d := detail(n); d != "" {
				res.Message += ": " + d
			}
			return res
		case <-tick.C:
		}
	}
}

func nodeOf(s supervisor.Snapshot, name string) supervisor.NodeStatus {
	for _, n := range s.Nodes {
		if n.Name == name {
			return n
		}
	}
	return supervisor.NodeStatus{Name: name}
}

// errNotAnswering means the daemon's listener did not answer.
var errNotAnswering = errors.New("twined is not answering")
