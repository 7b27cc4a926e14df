package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/twine/twine/cmd/internal/mainutil"

	"github.com/redis/go-redis/v9"

	"github.com/twine/twine/config"
	"github.com/twine/twine/supervisor"
	"github.com/twine/twine/supervisor/setup"
)

// Exit codes of -status, as Nagios plugins use them.
const (
	exitOK       = 0
	exitDegraded = 1
	exitHalt     = 2
	exitUnknown  = 3
)

// statusRequestTimeout bounds one -status request to the daemon.
const statusRequestTimeout = 5 * time.Second

// daemonURL is the base URL of the running daemon's listener at addr
// (-httpd, or the config's httpd setting; a wildcard listen address is
// reached on loopback).
func daemonURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// runStatus asks the running daemon for its status and prints it in the
// chosen format. Its exit code is the host status: 0 OK, 1 DEGRADED,
// 2 HALT, 3 UNKNOWN (daemon not answering: then the nodes are asked
// directly).
func runStatus(ctx context.Context, o options, stdout io.Writer) error {
	c, _, err := loadConfig(o.config)
	if err != nil {
		return &mainutil.ExitError{Code: exitUnknown, Err: err}
	}
	base := daemonURL(o.listenAddr(c))
	if o.format == "html" {
		body, _, err := daemonGet(ctx, base+"/")
		if err != nil {
			return notAnswering(ctx, c, o, base, err, stdout)
		}
		_, err = stdout.Write(body)
		return err
	}
	body, _, err := daemonGet(ctx, base+"/status?format=json")
	if err != nil {
		return notAnswering(ctx, c, o, base, err, stdout)
	}
	var snap supervisor.Snapshot
	if err := json.Unmarshal(body, &snap); err != nil {
		return &mainutil.ExitError{Code: exitUnknown, Err: fmt.Errorf("read status from %s: %w", base, err)}
	}
	if o.format == "json" {
		_, err = stdout.Write(body)
	} else {
		err = writeStatus(stdout, snap, o.format)
	}
	if err != nil {
		return &mainutil.ExitError{Code: exitUnknown, Err: err}
	}
	switch snap.Status {
	case supervisor.OK:
		return nil
	case supervisor.Degraded:
		return &mainutil.ExitError{Code: exitDegraded}
	default:
		return &mainutil.ExitError{Code: exitHalt}
	}
}

// daemonGet fetches a URL from the daemon; a non-200 answer is an error.
func daemonGet(ctx context.Context, u string) ([]byte, int, error) {
	ctx, cancel := context.WithTimeout(ctx, statusRequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, resp.StatusCode, err
	}
	if resp.StatusCode != http.StatusOK {
		return body, resp.StatusCode, fmt.Errorf("%s: %s: %s", u, resp.Status, strings.TrimSpace(string(body)))
	}
	return body, resp.StatusCode, nil
}

// notAnswering reports a daemon that does not answer, asks the nodes of
// this host directly, prints what they say, and exits 3.
func notAnswering(ctx context.Context, c *config.Cluster, o options, base string, cause error, stdout io.Writer) error {
	fmt.Fprintf(stdout, "twined is not answering at %s: %v\n", base, shortNetError(cause))
	host, err := resolveHost(c, o.host)
	if err != nil {
		fmt.Fprintf(stdout, "cannot ask the nodes directly: %v\n", err)
		return &mainutil.ExitError{Code: exitUnknown}
	}
	fmt.Fprintf(stdout, "asking the nodes of host %s directly:\n", host)
	pingNodes(ctx, c, host, stdout)
	return &mainutil.ExitError{Code: exitUnknown}
}

// pingNodes PINGs every node of host in parallel and prints one aligned
// line per node, in config order.
func pingNodes(ctx context.Context, c *config.Cluster, host string, w io.Writer) {
	password, perr := setup.ReadPassword(c.Settings().RedisPasswordFile)
	nodes := c.NodesOn(host)
	answers := make([]string, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() { answers[i] = pingOne(ctx, n.Addr(), password) })
	}
	wg.Wait()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for i, n := range nodes {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", n.Name, n.Addr(), answers[i])
	}
	tw.Flush()
	if perr != nil {
		fmt.Fprintf(w, "(without the redis password: %v)\n", perr)
	}
}

func pingOne(ctx context.Context, addr, password string) string {
	cl := redis.NewClient(&redis.Options{
		Addr: addr, Password: password, Protocol: 2, DisableIdentity: true,
		DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second,
		MaxRetries: -1, DialerRetries: 1, PoolSize: 1,
	})
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	begin := time.Now()
	res, err := cl.Ping(ctx).Result()
	if err != nil {
		return "no answer: " + shortNetError(err).Error()
	}
	return fmt.Sprintf("%s in %s", res, time.Since(begin).Round(10*time.Microsecond))
}

// shortNetError strips the URL and operation noise from a dial error.
func shortNetError(err error) error {
	var oe *net.OpError
	if ue, ok := err.(*url.Error); ok {
		err = ue.Err
	}
	if e, ok := err.(*net.OpError); ok {
		oe = e
		if oe.Err != nil {
			return oe.Err
		}
	}
	return err
}

// runControl asks the daemon to stop, start or restart a node (or all),
// waits for its answer and prints one line per node.
func runControl(ctx context.Context, o options, stdout io.Writer) error {
	c, _, err := loadConfig(o.config)
	if err != nil {
		return &mainutil.ExitError{Code: exitUnknown, Err: err}
	}
	base := daemonURL(o.listenAddr(c))
	u := fmt.Sprintf("%s/control/%s?node=%s", base, o.action, url.QueryEscape(o.target))
	ctx, cancel := context.WithTimeout(ctx, controlTimeout(c.Settings())*time.Duration(max(1, len(c.Nodes())))+10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	if err != nil {
		return &mainutil.ExitError{Code: 2, Err: err}
	}
	if f := c.Settings().HTTPDTokenFile; f != "" {
		tok, err := readToken(f)
		if err != nil {
			return &mainutil.ExitError{Code: exitUnknown, Err: err}
		}
		req.Header.Set("Authorization", "Bearer "+string(tok))
	}
	if o.target == "all" {
		// The answer comes when every node has changed: say what to expect.
		how := "all at once"
		if o.action == "restart" {
			how = "one at a time, each waiting for the previous to answer"
		}
		fmt.Fprintf(stdout, "%s: every node of the host, %s; waiting for them...\n", o.action, how)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return &mainutil.ExitError{Code: exitUnknown, Err: fmt.Errorf("%w at %s: %v", errNotAnswering, base, shortNetError(err))}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	var reply controlReply
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusGatewayTimeout {
		return &mainutil.ExitError{Code: 1, Err: fmt.Errorf("%s %s: %s", o.action, o.target, strings.TrimSpace(string(body)))}
	}
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&reply); err != nil {
		return &mainutil.ExitError{Code: 1, Err: fmt.Errorf("%s %s: read answer: %w", o.action, o.target, err)}
	}
	failed := 0
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for _, r := range reply.Results {
		verdict := "ok"
		if !r.OK {
			verdict = "FAILED"
			failed++
		}
		pid := ""
		if r.PID > 0 {
			pid = fmt.Sprintf("pid %d", r.PID)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.2fs\n", r.Node, verdict, r.Message, pid, r.Elapsed)
	}
	tw.Flush()
	if failed > 0 {
		return &mainutil.ExitError{Code: 1, Err: fmt.Errorf("%s: %d of %d nodes did not %s in time", o.action, failed, len(reply.Results), o.action)}
	}
	return nil
}
