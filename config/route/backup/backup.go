// Package backup takes a backup of a whole Twine cluster that is one
// moment of it, and checks and lists backups. Writes are paused on every
// partition's master at once (CLIENT PAUSE WRITE) only until each master
// has forked a snapshot for a replication-protocol transfer (as redis-cli
// --rdb does, diskless: the fork is the moment); the snapshots then stream
// to files while writes go on. A write that landed on one partition before
// another's is never in the backup without it.
package backup

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/twine/twine/config"
	"github.com/twine/twine/config/route/replset"
)

// Errors callers branch on.
var (
	// ErrNoMaster: a partition has no master that answers.
	ErrNoMaster = errors.New("partition without a master")
	// ErrPause: writes could not be paused on every master, or a master
	// did not fork its snapshot in time; nothing was kept.
	ErrPause = errors.New("no consistent cut")
	// ErrCheck: redis-check-rdb rejected a snapshot.
	ErrCheck = errors.New("snapshot check failed")
	// ErrBusy: a master was still saving or rewriting its AOF when the
	// backup gave up waiting for it (Redis forks one child at a time).
	ErrBusy = errors.New("master busy with another fork")
)

// cutAttempts is how many times a cut is tried: a save or AOF rewrite
// that forks between the wait for idle masters and the pause delays that
// master's snapshot past the pause; writes are resumed and the cut taken
// again once it has ended.
const cutAttempts = 3

// Options say what to back up and how.
type Options struct {
	Cluster  *config.Cluster
	Password string
	Dir      string // where twine-YYYYMMDDTHHMMSSZ/ is created
	// PauseTimeout bounds CLIENT PAUSE on the masters: writes resume by
	// then even if the backup dies (SIGKILL). 0 = 5s.
	PauseTimeout time.Duration
	// CheckRDB is redis-check-rdb; "" = next to the cluster's redis-server,
	// else on PATH.
	CheckRDB string
	// Progress, when set, is told of each partition's bytes as they
	// arrive (from several goroutines; it must be safe for that).
	Progress func(partition int, bytes int64, done bool)
	Now      func() time.Time // nil = time.Now
	// IdleWait bounds the wait, before the cut, for masters to end a save
	// or AOF rewrite already running. 0 = 10 minutes.
	IdleWait time.Duration
	// Waiting, when set, is told once per master the backup waits for,
	// and why ("saving", "rewriting its AOF").
	Waiting func(node, why string)

	// paused, when set (by tests), is called while writes are paused,
	// before the snapshots are asked for.
	paused func()
}

// target is one partition's master during a backup.
type target struct {
	partition int
	node      config.Node
	admin     *redis.Client
	conn      net.Conn
	rd        *bufio.Reader
	eofMark   []byte // the diskless transfer's end mark; nil for a length-prefixed one
	length    int64  // a length-prefixed transfer's size
	saved     map[string]string
	entry     Partition
	late      bool // the last cut timed out waiting for this master's fork
}

// Run takes the backup and returns its manifest and directory. On any
// failure nothing that looks like a backup is left.
func Run(ctx context.Context, o Options) (*Manifest, string, error) {
	if o.PauseTimeout <= 0 {
		o.PauseTimeout = 5 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.IdleWait <= 0 {
		o.IdleWait = 10 * time.Minute
	}
	check, err := findCheckRDB(o)
	if err != nil {
		return nil, "", err
	}
	c := o.Cluster
	timeout := max(c.Settings().CheckTimeout, time.Second)
	ts, err := masters(ctx, c, o.Password, timeout)
	if err != nil {
		return nil, "", err
	}
	defer func() {
		for _, t := range ts {
			t.close()
		}
	}()
	began := o.Now().UTC()
	name := "twine-" + began.Format("20060102T150405Z")
	final := filepath.Join(o.Dir, name)
	if _, err := os.Stat(final); err == nil {
		return nil, "", fmt.Errorf("backup: %s exists already", final)
	}
	partial := final + ".partial"
	if err := os.MkdirAll(o.Dir, 0o750); err != nil {
		return nil, "", fmt.Errorf("backup: %w", err)
	}
	if err := os.Mkdir(partial, 0o750); errors.Is(err, fs.ErrExist) {
		return nil, "", fmt.Errorf("backup: %s exists: another backup started in the same second is writing it (or one was killed: remove it)", partial)
	} else if err != nil {
		return nil, "", fmt.Errorf("backup: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(partial)
		}
	}()

	cut, pause, err := cutOnce(ctx, ts, o, timeout)
	restoreSettings(ts, timeout)
	if err != nil {
		return nil, "", err
	}
	if err := collect(ctx, ts, partial, timeout, o.Progress); err != nil {
		return nil, "", err
	}
	for _, t := range ts {
		if err := checkRDB(ctx, check, filepath.Join(partial, t.entry.File), &t.entry); err != nil {
			return nil, "", err
		}
	}
	m := &Manifest{
		Format: ManifestFormat, Cluster: c.Settings().Cluster, Partitions: c.Partitions(), Hash: c.Settings().Hash,
		Time: cut.UTC(), Pause: pause, PauseMS: float64(pause) / float64(time.Millisecond), Source: c.File(),
	}
	for _, t := range ts {
		m.Parts = append(m.Parts, t.entry)
		m.Bytes += t.entry.Bytes
		m.Keys += t.entry.Keys
	}
	if err := m.write(partial); err != nil {
		return nil, "", err
	}
	if err := os.Rename(partial, final); err != nil {
		return nil, "", fmt.Errorf("backup: %w", err)
	}
	ok = true
	return m, final, nil
}

// masters finds every partition's master and connects to it.
func masters(ctx context.Context, c *config.Cluster, password string, timeout time.Duration) ([]*target, error) {
	var sentinels *replset.Sentinels
	if len(c.Sentinels()) > 0 {
		sentinels = replset.NewSentinels(c, "", password, timeout)
		defer sentinels.Close()
	}
	ts := make([]*target, c.Partitions())
	errs := make([]error, len(ts))
	var wg sync.WaitGroup
	for p := range c.Partitions() {
		wg.Go(func() { ts[p], errs[p] = master(ctx, c, p, password, timeout, sentinels) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, t := range ts {
			t.close()
		}
		return nil, err
	}
	return ts, nil
}

// master finds partition p's master (the Sentinels' where they watch it,
// else the member answering ROLE as master, else a lone node) and opens
// its two connections: an admin client and the transfer's raw one.
func master(ctx context.Context, c *config.Cluster, p int, password string, timeout time.Duration, sentinels *replset.Sentinels) (*target, error) {
	set := c.ReplicaSet(p)
	addr := ""
	switch {
	case len(set) == 1:
		addr = set[0].Addr()
	case c.Watched(set[0]) && sentinels != nil:
		addr = sentinels.FindMaster(ctx, c.MasterName(set[0]), set)
	default:
		addr = replset.MasterByRole(ctx, set, password, timeout)
	}
	n, ok := c.NodeAt(addr)
	if addr == "" || !ok {
		return nil, fmt.Errorf("backup: partition %d: %w", p, ErrNoMaster)
	}
	o := replset.ClientOptions(addr, password, timeout, 2)
	t := &target{partition: p, node: n, admin: redis.NewClient(o), saved: map[string]string{}}
	if r, err := replset.Role(ctx, t.admin, timeout); err != nil {
		t.close()
		return nil, fmt.Errorf("backup: partition %d: %s does not answer ROLE (%v): %w", p, n.Name, err, ErrNoMaster)
	} else if !r.Master() {
		t.close()
		return nil, fmt.Errorf("backup: partition %d: %s is a %s, not a master (a fail-over under way? run the backup again): %w", p, n.Name, r.Role, ErrNoMaster)
	}
	if err := t.dial(ctx, password, timeout); err != nil {
		t.close()
		return nil, fmt.Errorf("backup: partition %d: %w", p, err)
	}
	return t, nil
}

// dial opens (again) the transfer's raw connection, which asks for a
// diskless snapshot only (no replication stream after it). It is done
// before the pause: during it, one round trip per master.
func (t *target) dial(ctx context.Context, password string, timeout time.Duration) error {
	if t.conn != nil {
		t.conn.Close()
	}
	t.eofMark, t.length, t.late = nil, 0, false
	conn, err := (&net.Dialer{Timeout: timeout}).DialContext(ctx, "tcp", t.node.Addr())
	if err != nil {
		return fmt.Errorf("%s: %w", t.node.Name, err)
	}
	t.conn, t.rd = conn, bufio.NewReaderSize(conn, 64<<10)
	if password != "" {
		if err := t.send(timeout, "AUTH", password); err != nil {
			return fmt.Errorf("%s: auth: %w", t.node.Name, err)
		}
	}
	for _, args := range [][]string{{"REPLCONF", "capa", "eof"}, {"REPLCONF", "rdb-only", "1"}} {
		if err := t.send(timeout, args...); err != nil {
			return fmt.Errorf("%s: %w", t.node.Name, err)
		}
	}
	return nil
}

func (t *target) close() {
	if t == nil {
		return
	}
	if t.conn != nil {
		t.conn.Close()
	}
	if t.admin != nil {
		t.admin.Close()
	}
}

// send writes a command on the raw connection and reads a status reply.
func (t *target) send(timeout time.Duration, args ...string) error {
	_ = t.conn.SetDeadline(time.Now().Add(timeout))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(t.conn, b.String()); err != nil {
		return err
	}
	line, err := t.rd.ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+") {
		return fmt.Errorf("%s: %s", args[0], strings.TrimSpace(line))
	}
	return nil
}

// cutOnce prepares the masters and takes the cut, again when a master
// forked a save or AOF rewrite of its own just before the pause.
func cutOnce(ctx context.Context, ts []*target, o Options, timeout time.Duration) (time.Time, time.Duration, error) {
	if err := each(ts, func(t *target) error { return t.prepare(ctx, timeout) }); err != nil {
		return time.Time{}, 0, err
	}
	for attempt := 1; ; attempt++ {
		if err := waitIdle(ctx, ts, o.IdleWait, timeout, o.Waiting); err != nil {
			return time.Time{}, 0, err
		}
		cut, pause, err := takeCut(ctx, ts, o.PauseTimeout, timeout, o.paused)
		if err == nil || attempt == cutAttempts || !lateAndBusy(ctx, ts, timeout) {
			return cut, pause, err
		}
		if err := each(ts, func(t *target) error { return t.dial(ctx, o.Password, timeout) }); err != nil {
			return time.Time{}, 0, fmt.Errorf("backup: %w", err)
		}
	}
}

// errLateFork: a master did not fork its snapshot while writes were
// paused.
var errLateFork = errors.New("did not fork its snapshot while writes were paused")

// busyWhy says which fork of its own a master runs: "saving", "rewriting
// its AOF", or "".
func (t *target) busyWhy(ctx context.Context, timeout time.Duration) (string, error) {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	info, err := t.admin.Info(cctx, "persistence").Result()
	if err != nil {
		return "", err
	}
	f := infoFields(info)
	switch {
	case f["rdb_bgsave_in_progress"] == "1":
		return "saving", nil
	case f["aof_rewrite_in_progress"] == "1" || f["aof_rewrite_scheduled"] == "1":
		return "rewriting its AOF", nil
	}
	return "", nil
}

// lateAndBusy says whether a master the cut waited for in vain is running
// a fork now: one of its own, most likely, begun just before the pause.
func lateAndBusy(ctx context.Context, ts []*target, timeout time.Duration) bool {
	var busy atomic.Bool
	_ = each(ts, func(t *target) error {
		if !t.late {
			return nil
		}
		if why, err := t.busyWhy(ctx, timeout); err == nil && why != "" {
			busy.Store(true)
		}
		return nil
	})
	return busy.Load()
}

// waitIdle waits, up to bound, until no master runs a save or AOF
// rewrite, telling waiting of each it waits for.
func waitIdle(ctx context.Context, ts []*target, bound, timeout time.Duration, waiting func(node, why string)) error {
	deadline := time.Now().Add(bound)
	return each(ts, func(t *target) error {
		told := false
		for {
			why, err := t.busyWhy(ctx, timeout)
			if err != nil {
				return fmt.Errorf("backup: info persistence: %w", err)
			}
			if why == "" {
				return nil
			}
			if !told && waiting != nil {
				waiting(t.node.Name, why)
			}
			told = true
			if time.Now().After(deadline) {
				return fmt.Errorf("backup: still %s after %s: %w", why, bound, ErrBusy)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
}

// takeCut pauses writes on every master, has each fork its snapshot for a
// diskless transfer, and resumes writes as soon as all have forked. It
// returns the moment of the cut (the last fork) and how long writes were
// paused. The pause is always lifted, on every path (and by Redis after
// pauseTimeout if this process dies).
func takeCut(ctx context.Context, ts []*target, pauseTimeout, timeout time.Duration, paused func()) (time.Time, time.Duration, error) {
	ms := strconv.FormatInt(pauseTimeout.Milliseconds(), 10)
	begin := time.Now()
	err := each(ts, func(t *target) error {
		cctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		return t.admin.Do(cctx, "CLIENT", "PAUSE", ms, "WRITE").Err()
	})
	defer unpause(ts, timeout)
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("backup: pause writes: %w: %w", err, ErrPause)
	}
	if paused != nil {
		paused()
	}
	deadline := begin.Add(pauseTimeout / 2)
	err = each(ts, func(t *target) error { return t.startSync(deadline) })
	cut := time.Now()
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("backup: %w: %w", err, ErrPause)
	}
	unpause(ts, timeout)
	// Writes were paused from the first CLIENT PAUSE to the last UNPAUSE.
	return cut, time.Since(begin), nil
}

// holdSettings are set on the masters from before the cut until it is
// taken: the snapshot forks at once, streamed (diskless, no delay). Save
// rules and AOF rewrites are not touched (a backup killed before putting
// them back would leave masters without them); Redis runs one child at a
// time, so one already running is waited for before the pause, and one
// forked in the moment between makes the cut be taken again (cutOnce).
// twined's AOF scheduler skips a node that is saving, which the
// snapshot's child is.
var holdSettings = [][2]string{{"repl-diskless-sync", "yes"}, {"repl-diskless-sync-delay", "0"}}

// prepare makes the master fork for a transfer at once (holdSettings),
// remembering the settings to put back.
func (t *target) prepare(ctx context.Context, timeout time.Duration) error {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	info, err := t.admin.Info(cctx, "server").Result()
	if err != nil {
		return fmt.Errorf("backup: %s: info: %w", t.node.Name, err)
	}
	t.entry.RedisVersion = infoFields(info)["redis_version"]
	for _, kv := range holdSettings {
		v, err := t.admin.ConfigGet(cctx, kv[0]).Result()
		if err != nil {
			return fmt.Errorf("backup: %s: config get %s: %w", t.node.Name, kv[0], err)
		}
		if v[kv[0]] == kv[1] {
			continue
		}
		t.saved[kv[0]] = v[kv[0]]
		if err := t.admin.ConfigSet(cctx, kv[0], kv[1]).Err(); err != nil {
			return fmt.Errorf("backup: %s: config set %s: %w", t.node.Name, kv[0], err)
		}
	}
	return nil
}

// restoreSettings puts back what prepare changed, with a fresh context.
func restoreSettings(ts []*target, timeout time.Duration) {
	_ = each(ts, func(t *target) error {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		for k, v := range t.saved {
			_ = t.admin.ConfigSet(ctx, k, v).Err()
		}
		return nil
	})
}

// unpause lifts the pause on every master, with a fresh context: a
// cancelled backup must not leave writes paused until the timeout.
func unpause(ts []*target, timeout time.Duration) {
	_ = each(ts, func(t *target) error {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		return t.admin.Do(ctx, "CLIENT", "UNPAUSE").Err()
	})
}

// startSync sends PSYNC for a full snapshot and reads the master's
// "+FULLRESYNC <replid> <offset>". A master sends it for a diskless
// transfer in the command that forks the snapshot's child, so once it is
// here the snapshot is taken (or failed, which the transfer then reports)
// and writes may resume; the offset is the cut's, as writes are paused.
// Newlines before it are the master's keep-alives.
func (t *target) startSync(deadline time.Time) error {
	_ = t.conn.SetDeadline(deadline)
	if _, err := io.WriteString(t.conn, "*3\r\n$5\r\nPSYNC\r\n$1\r\n?\r\n$2\r\n-1\r\n"); err != nil {
		return err
	}
	for {
		line, err := t.rd.ReadString('\n')
		if err != nil {
			var ne net.Error
			t.late = errors.As(err, &ne) && ne.Timeout()
			return fmt.Errorf("%s %w (%w)", t.node.Name, errLateFork, err)
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == "":
			continue // keep-alive
		case strings.HasPrefix(line, "+FULLRESYNC "):
			f := strings.Fields(line)
			off, err := strconv.ParseInt(f[len(f)-1], 10, 64)
			if len(f) != 3 || err != nil {
				return fmt.Errorf("%s: bad PSYNC reply %q", t.node.Name, line)
			}
			t.entry.Offset = off
			return nil
		default:
			return fmt.Errorf("%s refused the transfer: %s", t.node.Name, line)
		}
	}
}

// readHeader reads the transfer's header, which the snapshot's child
// writes first: "$EOF:<40 bytes>" (diskless) or "$<len>". Newlines before
// it are the master's keep-alives.
func (t *target) readHeader(timeout time.Duration) error {
	_ = t.conn.SetDeadline(time.Now().Add(timeout))
	for {
		line, err := t.rd.ReadString('\n')
		if err != nil {
			return fmt.Errorf("%s did not send its snapshot: %w", t.node.Name, err)
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == "":
			continue // keep-alive
		case strings.HasPrefix(line, "$EOF:") && len(line) == 45:
			t.eofMark = []byte(line[5:])
			return nil
		case strings.HasPrefix(line, "$"):
			n, err := strconv.ParseInt(line[1:], 10, 64)
			if err != nil || n < 0 {
				return fmt.Errorf("%s: bad transfer header %q", t.node.Name, line)
			}
			t.length = n
			return nil
		default:
			return fmt.Errorf("%s failed its snapshot: %s", t.node.Name, line)
		}
	}
}

// collect streams every snapshot to its file, in parallel.
func collect(ctx context.Context, ts []*target, dir string, timeout time.Duration, progress func(int, int64, bool)) error {
	return each(ts, func(t *target) error {
		t.entry.Partition, t.entry.Node, t.entry.Host = t.partition, t.node.Name, t.node.Host
		t.entry.File = fmt.Sprintf("partition-%04d.rdb", t.partition)
		return t.receive(ctx, filepath.Join(dir, t.entry.File), timeout, progress)
	})
}

// receive writes the transfer to path and hashes it.
func (t *target) receive(ctx context.Context, path string, timeout time.Duration, progress func(int, int64, bool)) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer f.Close()
	stop := context.AfterFunc(ctx, func() { t.conn.Close() })
	defer stop()
	if err := t.readHeader(max(timeout, 10*time.Second)); err != nil {
		return fmt.Errorf("backup: partition %d: %w", t.partition, err)
	}
	_ = t.conn.SetDeadline(time.Time{})
	h := sha256.New()
	w := io.MultiWriter(f, h)
	var n int64
	if t.eofMark == nil {
		n, err = io.CopyN(w, t.rd, t.length)
	} else {
		n, err = copyUntilMark(w, t.rd, t.eofMark, func(n int64) {
			if progress != nil {
				progress(t.partition, n, false)
			}
		})
	}
	if err != nil {
		return fmt.Errorf("backup: partition %d: transfer from %s: %w", t.partition, t.node.Name, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	t.entry.Bytes, t.entry.SHA256 = n, hex.EncodeToString(h.Sum(nil))
	if progress != nil {
		progress(t.partition, n, true)
	}
	return nil
}

// copyUntilMark copies r to w until the 40-byte end mark, which it drops.
func copyUntilMark(w io.Writer, r io.Reader, mark []byte, tick func(int64)) (int64, error) {
	buf := make([]byte, 64<<10)
	var held []byte // the last len(mark) bytes seen, not written yet
	var n int64
	for {
		k, err := r.Read(buf)
		if k > 0 {
			held = append(held, buf[:k]...)
			if len(held) > len(mark) {
				out := held[:len(held)-len(mark)]
				if _, werr := w.Write(out); werr != nil {
					return n, werr
				}
				n += int64(len(out))
				held = append(held[:0], held[len(held)-len(mark):]...)
				tick(n)
			}
		}
		if err == io.EOF {
			if string(held) != string(mark) {
				return n, fmt.Errorf("transfer ended without its end mark")
			}
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// each runs fn for every target in parallel and joins the errors.
func each(ts []*target, fn func(*target) error) error {
	errs := make([]error, len(ts))
	var wg sync.WaitGroup
	for i, t := range ts {
		wg.Go(func() {
			if err := fn(t); err != nil {
				errs[i] = fmt.Errorf("partition %d (%s): %w", t.partition, t.node.Name, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// infoFields parses an INFO reply.
func infoFields(s string) map[string]string {
	f := map[string]string{}
	for line := range strings.Lines(s) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			f[k] = v
		}
	}
	return f
}
