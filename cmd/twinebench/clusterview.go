package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// clusterView is what the bench reads of `twined -status -cluster -format
// json`: the public JSON of README's "Many hosts, one cluster", the
// fields the cluster scenario looks at.
type clusterView struct {
	Status     string            `json:"status"` // OK, DEGRADED, HALT, UNKNOWN
	Reason     string            `json:"reason"`
	Alpha      string            `json:"alpha"` // the host holding the lease
	AlphaEpoch int64             `json:"alpha_epoch"`
	Time       time.Time         `json:"time"` // when the alpha computed it
	Hosts      []clusterHostView `json:"hosts"`
}

// clusterHostView is one host of a clusterView.
type clusterHostView struct {
	Host   string `json:"host"`
	Status string `json:"status"`
	Lost   bool   `json:"lost"`
}

// lost reports whether the view has host lost.
func (v clusterView) lost(host string) bool {
	for _, h := range v.Hosts {
		if h.Host == host {
			return h.Lost
		}
	}
	return false
}

// statusRun is one run of `twined -status -cluster -format json`.
type statusRun struct {
	View  clusterView
	Exit  int           // 0 OK, 1 DEGRADED, 2 HALT, 3 UNKNOWN
	Begin time.Time     // just before the process started
	Took  time.Duration // start to exit, output read
}

// clusterCommandTimeout bounds one run of the command (it gives up on the
// status node after 5 s itself).
const clusterCommandTimeout = 15 * time.Second

// clusterStatus runs `twined -status -cluster -config FILE -format json`
// once, in a process group of its own, killed by PID when ctx ends or
// after clusterCommandTimeout. An exit code other than 0-3, or output
// that is not the view's JSON, is an error.
func clusterStatus(ctx context.Context, twined, file string) (statusRun, error) {
	ctx, cancel := context.WithTimeout(ctx, clusterCommandTimeout)
	defer cancel()
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, twined, "-status", "-cluster", "-config", file, "-format", "json")
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = time.Second
	r := statusRun{Begin: time.Now()}
	err := cmd.Run()
	r.Took = time.Since(r.Begin)
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.ExitCode() >= 1 && ee.ExitCode() <= 3 && ctx.Err() == nil:
		r.Exit = ee.ExitCode()
	case ctx.Err() != nil:
		return r, fmt.Errorf("twined -status -cluster: %w", ctx.Err())
	default:
		return r, fmt.Errorf("twined -status -cluster: %w: %s", err, strings.TrimSpace(errb.String()))
	}
	if err := json.Unmarshal(out.Bytes(), &r.View); err != nil {
		return r, fmt.Errorf("twined -status -cluster: read its JSON: %w", err)
	}
	return r, nil
}

// healthy returns nil when run says the cluster is OK: exit code 0,
// status OK, an alpha, and every one of hosts seen, none lost.
func (r statusRun) healthy(hosts []string) error {
	v := r.View
	if r.Exit != 0 || v.Status != "OK" {
		return fmt.Errorf("cluster %s (exit code %d): %s", v.Status, r.Exit, v.Reason)
	}
	if v.Alpha == "" {
		return errors.New("cluster OK without an alpha")
	}
	for _, h := range hosts {
		seen := false
		for _, hv := range v.Hosts {
			if hv.Host == h {
				seen = true
				if hv.Lost || hv.Status != "OK" {
					return fmt.Errorf("host %s: %s, lost %v", h, hv.Status, hv.Lost)
				}
			}
		}
		if !seen {
			return fmt.Errorf("host %s not in the cluster view", h)
		}
	}
	return nil
}

// waitOK runs the command every lookEvery until the cluster is healthy
// and returns that run; it fails with the last reason after limit.
func (f *fleet) waitOK(ctx context.Context, limit time.Duration) (statusRun, error) {
	var r statusRun
	err := eventually(ctx, limit, lookEvery, func() error {
		var err error
		if r, err = clusterStatus(ctx, f.twined, f.c.file); err != nil {
			return err
		}
		return r.healthy(f.hosts)
	})
	if err != nil {
		return r, fmt.Errorf("wait for the cluster to be OK: %w", err)
	}
	return r, nil
}
