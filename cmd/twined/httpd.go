package main

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/twine/twine/config"
	"github.com/twine/twine/supervisor"
	"github.com/twine/twine/supervisor/cluster"
	"github.com/twine/twine/templates"
)

// httpd is twined's status and control listener: the status page, /status
// in several formats, /metrics, and POST /control/{stop,start,restart}.
// Every request is bounded by server timeouts, so slow or many clients
// cannot hold resources for long; handlers only read snapshots and send
// commands, so they never slow supervision.
type httpd struct {
	sup      *supervisor.Supervisor
	cluster  atomic.Pointer[config.Cluster] // replaced on reload
	log      hclog.Logger
	metrics  *metrics
	token    []byte // bearer token for control; nil = none
	readOnly bool   // non-loopback listener without a token: no control
	srv      *http.Server
	ln       net.Listener
	flagAddr bool            // the address came from -httpd: set httpd does not move it
	member   *cluster.Member // the cluster view; nil without status nodes
}

// newHTTPD listens on addr (-httpd, or the cluster's httpd setting). It
// refuses nothing yet; call serve to answer requests.
func newHTTPD(c *config.Cluster, addr string, sup *supervisor.Supervisor, m *metrics, log hclog.Logger) (*httpd, error) {
	s := c.Settings()
	h := &httpd{sup: sup, log: log.Named("httpd"), metrics: m}
	h.cluster.Store(c)
	if s.HTTPDTokenFile != "" {
		tok, err := readToken(s.HTTPDTokenFile)
		if err != nil {
			return nil, err
		}
		h.token = tok
	}
	host, _, _ := net.SplitHostPort(addr)
	if !config.IsLoopback(host) && h.token == nil {
		h.readOnly = true
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		where := "set httpd in " + c.File()
		if addr != s.HTTPD {
			where = "-httpd"
		}
		return nil, fmt.Errorf("listen on %s (%s): %w", addr, where, err)
	}
	h.ln = ln
	h.flagAddr = addr != s.HTTPD
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.page)
	mux.HandleFunc("GET /status", h.status)
	mux.Handle("GET /metrics", m.handler())
	mux.HandleFunc("POST /control/{action}", h.control)
	mux.HandleFunc("GET /partition/{p}/{role}", h.partitionRole)
	mux.HandleFunc("POST /restore", h.restore)
	h.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      controlTimeout(s) + 10*time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          h.log.StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Debug}),
	}
	return h, nil
}

// readToken reads the control token from a file; it must not be empty.
func readToken(path string) ([]byte, error) {
	tok, err := config.ReadSecret(path, "httpd-token-file")
	return []byte(tok), err
}

// addr is the address the listener got.
func (h *httpd) addr() string { return h.ln.Addr().String() }

// serve answers requests until shutdown.
func (h *httpd) serve() {
	if err := h.srv.Serve(h.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		h.log.Error("status listener failed", "error", err)
	}
}

// shutdown stops the listener, letting requests in flight finish briefly.
func (h *httpd) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := h.srv.Shutdown(ctx); err != nil {
		_ = h.srv.Close()
	}
}

// query parses the request's query strictly: a malformed one is a 400.
func query(w http.ResponseWriter, r *http.Request, allowed ...string) (url.Values, bool) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		http.Error(w, "malformed query: "+err.Error(), http.StatusBadRequest)
		return nil, false
	}
	for k := range q {
		if !slices.Contains(allowed, k) {
			http.Error(w, fmt.Sprintf("unknown query parameter %q (known: %s)", k, strings.Join(allowed, ", ")), http.StatusBadRequest)
			return nil, false
		}
	}
	return q, true
}

// status serves /status?format=json|xml|summary|list (default json), and
// with scope=cluster the cluster view.
func (h *httpd) status(w http.ResponseWriter, r *http.Request) {
	q, ok := query(w, r, "format", "scope")
	if !ok {
		return
	}
	format := q.Get("format")
	if format == "" {
		format = "json"
	}
	if !slices.Contains(statusFormats, format) {
		http.Error(w, fmt.Sprintf("unknown format %q (want %s)", format, strings.Join(statusFormats, ", ")), http.StatusBadRequest)
		return
	}
	var b bytes.Buffer
	var err error
	switch q.Get("scope") {
	case "", "host":
		err = writeStatus(&b, h.sup.Snapshot(), format)
	case "cluster":
		err = writeClusterStatus(&b, h.clusterView(), format)
	default:
		http.Error(w, fmt.Sprintf("unknown scope %q (want host or cluster)", q.Get("scope")), http.StatusBadRequest)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	switch format {
	case "json":
		w.Header().Set("Content-Type", "application/json")
	case "xml":
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	default:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b.Bytes())
}

// clusterView is the cluster view this twined knows: computed as alpha,
// else read from the status node; UNKNOWN without status nodes.
func (h *httpd) clusterView() cluster.View {
	if h.member == nil {
		c := h.cluster.Load()
		return cluster.View{Cluster: c.Settings().Cluster, Status: cluster.StatusUnknown, Reason: c.File() + " has no status node", Time: time.Now()}
	}
	return h.member.View()
}

// page serves the HTML status page of the host, or with scope=cluster of
// the cluster.
func (h *httpd) page(w http.ResponseWriter, r *http.Request) {
	q, ok := query(w, r, "scope")
	if !ok {
		return
	}
	var b bytes.Buffer
	var err error
	if q.Get("scope") == "cluster" {
		err = clusterPage(&b, h.clusterView())
	} else {
		err = templates.StatusPage.Execute(&b, pageData(h.sup.Snapshot()))
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b.Bytes())
}

// pageData prepares a snapshot for the status page.
func pageData(s supervisor.Snapshot) templates.StatusPageData {
	d := templates.StatusPageData{
		Host: s.Host, Status: s.Status.String(), Headline: headline(s),
		Time: s.Time.Local().Format("2006-01-02 15:04:05 MST"), Version: version(), Refresh: 2,
	}
	for st := supervisor.Starting; st <= supervisor.Busy; st++ {
		d.States = append(d.States, st.String())
	}
	for _, n := range s.Nodes {
		pn := templates.StatusPageNode{
			Name: n.Name, State: n.State.String(), Label: partitionText(n) + " " + n.State.String(),
			Title:     fmt.Sprintf("%s %s:%d %s %s, since %s", n.Name, n.Host, n.Port, n.Role, n.State, ago(n.Since, s.Time)),
			Partition: partitionText(n), Since: ago(n.Since, s.Time), Restarts: n.Restarts, Detail: detail(n),
		}
		d.Nodes = append(d.Nodes, pn)
		if n.State != supervisor.Up {
			d.Problems = append(d.Problems, pn)
		}
	}
	for _, m := range s.Masters {
		pm := templates.StatusPageMaster{Set: setShort(m.Partition), Master: m.Master, Addr: m.Addr, Source: m.Source,
			Sentinels: "-", Confirmed: yesNo(m.Confirmed)}
		if m.Sentinels > 0 {
			pm.Sentinels = fmt.Sprintf("%d/%d", m.SentinelsAgree, m.Sentinels)
		}
		if pm.Master == "" {
			pm.Master = "-"
		}
		d.Masters = append(d.Masters, pm)
	}
	return d
}

// partitionRole serves GET /partition/P/master and /partition/P/replica
// (P a partition number, or status) for load balancers, as Patroni serves
// HAProxy: 200 when a node of this host is P's master (or a replica with
// its link up), confirmed by the node itself and, where Sentinels watch
// the set, by a majority of them; 503 otherwise; 404 for a set with no
// node here. The body says why.
func (h *httpd) partitionRole(w http.ResponseWriter, r *http.Request) {
	if _, ok := query(w, r); !ok {
		return
	}
	role := r.PathValue("role")
	if role != "master" && role != "replica" {
		http.Error(w, fmt.Sprintf("unknown role %q (want master or replica)", role), http.StatusNotFound)
		return
	}
	p := -1
	if arg := r.PathValue("p"); arg != "status" {
		n, err := strconv.Atoi(arg)
		if err != nil || n < 0 {
			http.Error(w, fmt.Sprintf("partition %q: want a number or status", arg), http.StatusNotFound)
			return
		}
		p = n
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	ok, text, err := h.sup.ServesAs(ctx, p, role == "master")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	switch {
	case errors.Is(err, supervisor.ErrNoSetHere):
		http.Error(w, err.Error(), http.StatusNotFound)
	case err != nil:
		http.Error(w, err.Error(), http.StatusInternalServerError)
	case ok:
		fmt.Fprintln(w, text)
	default:
		http.Error(w, "not "+role+": "+text, http.StatusServiceUnavailable)
	}
}

// allowControl reports whether r may change nodes, answering it if not:
// POST only (the mux), from a loopback peer unless a token is set, with
// the bearer token when one is set, never on a non-loopback listener
// without a token.
func (h *httpd) allowControl(w http.ResponseWriter, r *http.Request) bool {
	if h.readOnly {
		http.Error(w, "control is disabled: the listener is not on loopback and no httpd-token-file is set", http.StatusForbidden)
		return false
	}
	if h.token != nil {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), h.token) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="twined"`)
			http.Error(w, "control needs the bearer token of httpd-token-file", http.StatusUnauthorized)
			return false
		}
		return true
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil || !net.ParseIP(host).IsLoopback() {
		http.Error(w, "control is accepted from loopback only", http.StatusForbidden)
		return false
	}
	return true
}
