package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/twine/twine/cmd/internal/mainutil"
	"github.com/twine/twine/config"
	"github.com/twine/twine/config/route/backup"
	"github.com/twine/twine/config/route/replset"
	"github.com/twine/twine/supervisor/cluster"
)

// restoreReply is the answer of POST /restore.
type restoreReply struct {
	Node    string `json:"node"`
	OK      bool   `json:"ok"`
	Keys    int64  `json:"keys"`
	Aside   string `json:"aside"`
	Message string `json:"message"`
}

// restore serves POST /restore?node=NAME&min=K&max=K&sha256=HEX: the body
// is the node's snapshot, checked against sha256, installed by
// Supervisor.Restore. Same rules as /control (loopback or token).
func (h *httpd) restore(w http.ResponseWriter, r *http.Request) {
	if !h.allowControl(w, r) {
		return
	}
	q, ok := query(w, r, "node", "min", "max", "sha256")
	if !ok {
		return
	}
	name := q.Get("node")
	minKeys, err1 := strconv.ParseInt(q.Get("min"), 10, 64)
	maxKeys, err2 := strconv.ParseInt(q.Get("max"), 10, 64)
	if name == "" || err1 != nil || err2 != nil || len(q.Get("sha256")) != 64 {
		http.Error(w, "give node=NAME, min=K, max=K and sha256=HEX", http.StatusBadRequest)
		return
	}
	c := h.cluster.Load()
	n, ok := c.Node(name)
	if !ok {
		http.Error(w, fmt.Sprintf("unknown node %q", name), http.StatusNotFound)
		return
	}
	f, err := os.CreateTemp(c.Files(n).Dir, ".restore-incoming-*.rdb")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer os.Remove(f.Name())
	hash := sha256.New()
	_, err = io.Copy(io.MultiWriter(f, hash), r.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		http.Error(w, "receive the snapshot: "+err.Error(), http.StatusBadRequest)
		return
	}
	if got := hex.EncodeToString(hash.Sum(nil)); got != q.Get("sha256") {
		http.Error(w, fmt.Sprintf("the snapshot arrived with SHA-256 %s, not %q: nothing changed", got[:12], q.Get("sha256")), http.StatusBadRequest)
		return
	}
	h.log.Warn("restoring a node from a backup", "node", name, "from", r.RemoteAddr)
	// Once the node is stopped, the restore runs to its end (or its
	// rollback) even if the client goes away: a half-done one would
	// leave the node stopped.
	res, err := h.sup.Restore(context.WithoutCancel(r.Context()), name, f.Name(), minKeys, maxKeys)
	reply := restoreReply{Node: name, OK: err == nil, Keys: res.Keys, Aside: res.Aside}
	code := http.StatusOK
	if err != nil {
		reply.Message, code = err.Error(), http.StatusInternalServerError
		h.log.Error("restore failed", "node", name, "error", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(reply)
}

// runRestore is `twined -restore PATH [-partition P] [-yes]`: it checks
// the backup (manifest, every checksum, redis-check-rdb) and that it fits
// twine.conf before touching anything, asks on a terminal, and has the
// twined of each partition's master install its snapshot; the replicas
// resync from the restored master and are kept from being promoted
// meanwhile.
func runRestore(ctx context.Context, o options, stdout, stderr io.Writer) error {
	c, _, err := loadConfig(o.config)
	if err != nil {
		return &mainutil.ExitError{Code: 2, Err: err}
	}
	m, err := backup.Read(o.restore)
	if err != nil {
		return err
	}
	if err := m.Fits(c); err != nil {
		return fmt.Errorf("%s: %w; nothing changed", o.restore, err)
	}
	check, err := backup.FindCheckRDB(c)
	if err != nil {
		return err
	}
	if err := backup.Verify(ctx, o.restore, m, check); err != nil {
		return fmt.Errorf("%s does not verify; nothing changed:\n%w", o.restore, err)
	}
	parts := m.Parts
	if o.partition >= 0 {
		if o.partition >= c.Partitions() {
			return &mainutil.ExitError{Code: 2, Err: fmt.Errorf("-partition %d: the cluster has partitions 0 to %d", o.partition, c.Partitions()-1)}
		}
		parts = []backup.Partition{m.Parts[o.partition]}
	}
	what := fmt.Sprintf("restore %d partition(s) of %s from %s (the cut of %s): their data now is moved aside and replaced",
		len(parts), c.File(), o.restore, m.Time.Format(time.RFC3339))
	if err := confirm(o, what, stdout); err != nil {
		return err
	}
	password, err := c.Settings().RedisPassword()
	if err != nil {
		return err
	}
	// Partitions are restored side by side, a few at a time: each is one
	// node stopped, swapped and started on its host.
	var mu sync.Mutex
	var failed []string
	out := &lockedWriter{w: stdout, mu: &mu}
	sem := make(chan struct{}, restoreParallel)
	var wg sync.WaitGroup
	for _, p := range parts {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := restorePartition(ctx, o, c, password, o.restore, p, out); err != nil {
				mu.Lock()
				fmt.Fprintf(stderr, "partition %d: %v\n", p.Partition, err)
				failed = append(failed, strconv.Itoa(p.Partition))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.SortFunc(failed, func(a, b string) int { x, _ := strconv.Atoi(a); y, _ := strconv.Atoi(b); return x - y })
	var ttl int64
	for _, p := range parts {
		ttl += p.Expires
	}
	if ttl > 0 {
		fmt.Fprintf(stdout, "%d keys of the backup had a TTL: those whose TTL ran out since the cut are gone\n", ttl)
	}
	if len(failed) > 0 {
		return fmt.Errorf("restore failed for partition(s) %s (the others are restored)", strings.Join(failed, ", "))
	}
	return nil
}

// restoreParallel is how many partitions a restore handles at once.
const restoreParallel = 8

// lockedWriter serializes the lines of goroutines writing to w.
type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// confirm asks on a terminal; without one it needs -yes.
func confirm(o options, what string, stdout io.Writer) error {
	if o.yes {
		return nil
	}
	if !term.IsTerminal(int(os.Stdin.Fd())) {
		return &mainutil.ExitError{Code: 2, Err: fmt.Errorf("%s: refusing without confirmation: run it on a terminal, or give -yes", what)}
	}
	fmt.Fprintf(stdout, "%s.\nGo on? [y/N] ", what)
	line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
		return &mainutil.ExitError{Code: 1, Err: errors.New("not confirmed; nothing changed")}
	}
	return nil
}

// restorePartition restores one partition on its master's host, and
// waits until its replicas hold the restored data.
func restorePartition(ctx context.Context, o options, c *config.Cluster, password, dir string, p backup.Partition, stdout io.Writer) error {
	set := c.ReplicaSet(p.Partition)
	timeout := max(c.Settings().CheckTimeout, time.Second)
	master := set[0]
	if len(set) > 1 {
		addr := ""
		if c.Watched(set[0]) {
			s := replset.NewSentinels(c, "", password, timeout)
			addr = s.FindMaster(ctx, c.MasterName(set[0]), set)
			s.Close()
		} else {
			addr = replset.MasterByRole(ctx, set, password, timeout)
		}
		n, ok := c.NodeAt(addr)
		if !ok {
			return fmt.Errorf("no master found for the partition; nothing changed")
		}
		master = n
	}
	// While its master is down and loading, no replica with the old data
	// may be promoted.
	replicas := restorePriority(ctx, set, master, password, timeout, stdout)
	defer replicas.put()
	base, err := daemonOf(ctx, o, c, master.Host, password)
	if err != nil {
		return err
	}
	f, err := os.Open(filepath.Join(dir, p.File))
	if err != nil {
		return err
	}
	defer f.Close()
	u := fmt.Sprintf("%s/restore?node=%s&min=%d&max=%d&sha256=%s", base, master.Name, p.Keys-p.Expires, p.Keys, p.SHA256)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, f)
	if err != nil {
		return err
	}
	req.ContentLength = p.Bytes
	if tf := c.Settings().HTTPDTokenFile; tf != "" {
		tok, err := readToken(tf)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+string(tok))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%w at %s: %v", errNotAnswering, base, shortNetError(err))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var reply restoreReply
	if json.Unmarshal(body, &reply) != nil {
		return fmt.Errorf("%s: %s", master.Name, strings.TrimSpace(string(body)))
	}
	if !reply.OK {
		return errors.New(reply.Message)
	}
	fmt.Fprintf(stdout, "partition %d: %s (%s) restored: %d keys (the backup: %d); its data before is in %s\n",
		p.Partition, master.Name, master.Addr(), reply.Keys, p.Keys, reply.Aside)
	return replicas.waitSynced(ctx, master, stdout, p.Partition)
}

// daemonOf returns the base URL of host's twined: its address as it
// publishes it on the status node, else this machine's own listener when
// host is the only one or the local one.
func daemonOf(ctx context.Context, o options, c *config.Cluster, host, password string) (string, error) {
	if len(c.StatusNodes()) > 0 {
		if addr, err := cluster.ControlAddr(ctx, c, password, host); err == nil && addr != "" {
			return daemonURL(addr), nil
		}
	}
	if h, err := resolveHost(c, o.host); err == nil && h == host {
		return daemonURL(o.listenAddr(c)), nil
	}
	return "", fmt.Errorf("cannot reach host %s's twined: it publishes its address on the status node (status lines in twine.conf), or run -restore on %s", host, host)
}

// replicaHold keeps a partition's replicas from being promoted during a
// restore (replica-priority 0), and puts their priority back.
type replicaHold struct {
	password string
	timeout  time.Duration
	nodes    []config.Node
	saved    []string
}

func restorePriority(ctx context.Context, set []config.Node, master config.Node, password string, timeout time.Duration, stdout io.Writer) *replicaHold {
	h := &replicaHold{password: password, timeout: timeout}
	for _, n := range set {
		if n.Name == master.Name {
			continue
		}
		cl := replset.NewClient(n.Addr(), password, timeout)
		cctx, cancel := context.WithTimeout(ctx, timeout)
		old, err := cl.ConfigGet(cctx, "replica-priority").Result()
		if err == nil {
			err = cl.ConfigSet(cctx, "replica-priority", "0").Err()
		}
		cancel()
		cl.Close()
		if err != nil {
			fmt.Fprintf(stdout, "partition %d: replica %s cannot be kept from promotion (%v): it is not held back or waited for\n",
				master.Partition, n.Name, shortNetError(err))
			continue
		}
		h.nodes = append(h.nodes, n)
		h.saved = append(h.saved, old["replica-priority"])
	}
	return h
}

// waitSynced waits until every held replica has resynced from the
// restored master: linked to it and at least at the replication offset
// the master had once restored (a key count would not do: writes and
// expiries go on meanwhile).
func (h *replicaHold) waitSynced(ctx context.Context, master config.Node, stdout io.Writer, p int) error {
	if len(h.nodes) == 0 {
		return nil
	}
	mc := replset.NewClient(master.Addr(), h.password, h.timeout)
	mr, err := replset.Role(ctx, mc, h.timeout)
	mc.Close()
	if err != nil || !mr.Master() {
		return fmt.Errorf("the restored master %s does not answer ROLE as a master (%v, %s): its replicas' resync is not checked", master.Name, err, mr.Role)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for _, n := range h.nodes {
		fmt.Fprintf(stdout, "partition %d: waiting for replica %s to resync from %s\n", p, n.Name, master.Name)
		cl := replset.NewClient(n.Addr(), h.password, h.timeout)
		var last replset.NodeRole
		for {
			r, err := replset.Role(ctx, cl, h.timeout)
			if err == nil {
				last = r
				if r.Role == "replica" && r.Upstream == master.Addr() && r.State == "connected" && r.Offset >= mr.Offset {
					break
				}
			}
			if time.Now().After(deadline) {
				cl.Close()
				return fmt.Errorf("replica %s has not resynced from the restored master after 2 minutes (its link: %s to %s, offset %d of %d)", n.Name, last.State, last.Upstream, last.Offset, mr.Offset)
			}
			select {
			case <-ctx.Done():
				cl.Close()
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
		cl.Close()
		fmt.Fprintf(stdout, "partition %d: replica %s resynced\n", p, n.Name)
	}
	return nil
}

// put gives the replicas their priority back, with a fresh context.
func (h *replicaHold) put() {
	for i, n := range h.nodes {
		cl := replset.NewClient(n.Addr(), h.password, h.timeout)
		ctx, cancel := context.WithTimeout(context.Background(), h.timeout)
		_ = cl.ConfigSet(ctx, "replica-priority", h.saved[i]).Err()
		cancel()
		cl.Close()
	}
}
