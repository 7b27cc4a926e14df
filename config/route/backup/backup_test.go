package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/twine/twine/config"
	"github.com/twine/twine/procs/redistest"
)

// testCluster starts n plain redis-servers and a twine.conf naming them
// as partitions 0..n-1.
func testCluster(t *testing.T, n int, extra ...string) (*config.Cluster, []*redistest.RedisServer) {
	t.Helper()
	var srvs []*redistest.RedisServer
	var b strings.Builder
	fmt.Fprintf(&b, "set redis-server %s\n", redistest.Binary(t))
	for i := range n {
		s := redistest.Server(t, extra...)
		srvs = append(srvs, s)
		fmt.Fprintf(&b, "n%d=data %d 127.0.0.1 %d 0\n", i, i, s.Port)
	}
	path := filepath.Join(t.TempDir(), "twine.conf")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return c, srvs
}

// tags returns, for each partition, a hash tag whose keys it owns.
func tags(t *testing.T, c *config.Cluster) []string {
	t.Helper()
	out := make([]string, c.Partitions())
	found := 0
	for i := 0; found < len(out); i++ {
		tag := "t" + strconv.Itoa(i)
		p, err := c.Partition([]byte(tag))
		if err != nil {
			t.Fatal(err)
		}
		if out[p] == "" {
			out[p], found = tag, found+1
		}
	}
	return out
}

func client(t *testing.T, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, DisableIdentity: true, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	return c
}

// The consistent cut: a writer does acknowledged writes one after another,
// write i to a key of partition i mod N, while the backup runs. Loaded
// back, the backup holds exactly a prefix of that sequence: if write s is
// in it, every write before s is too.
func TestBackupIsOneCut(t *testing.T) {
	const n = 8
	c, srvs := testCluster(t, n)
	tg := tags(t, c)
	clients := make([]*redis.Client, n)
	for i, s := range srvs {
		clients[i] = client(t, s.Addr)
	}
	var acked atomic.Int64
	acked.Store(-1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			p := i % n
			if err := clients[p].Set(context.Background(), fmt.Sprintf("{%s}:%d", tg[p], i), i, 0).Err(); err != nil {
				t.Errorf("write %d: %v", i, err)
				return
			}
			acked.Store(int64(i))
		}
	})
	redistest.Eventually(t, 10*time.Second, func() bool { return acked.Load() > 2000 }, "the writer did not start")
	m, dir, err := Run(context.Background(), Options{Cluster: c, Dir: t.TempDir()})
	after := acked.Load()
	redistest.Eventually(t, 10*time.Second, func() bool { return acked.Load() > after+2000 }, "the writer stopped")
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	t.Logf("backup %s: %d keys, %d bytes, writes paused %.2f ms", dir, m.Keys, m.Bytes, m.PauseMS)
	if m.Partitions != n || len(m.Parts) != n || m.Keys < 2000 {
		t.Fatalf("manifest %+v", m)
	}
	// Load each snapshot into a fresh redis-server and gather the writes.
	have := map[int]bool{}
	for _, part := range m.Parts {
		s := redistest.Server(t, "dir "+dir, "dbfilename "+part.File)
		cl := client(t, s.Addr)
		keys, err := cl.Keys(context.Background(), "*").Result()
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(keys)) != part.Keys {
			t.Errorf("partition %d: %d keys loaded, the manifest says %d", part.Partition, len(keys), part.Keys)
		}
		// The offset at the cut is no further than the master's now (a
		// master that never had a replica counts from 0 at its first).
		now, err := client(t, srvs[part.Partition].Addr).Info(context.Background(), "replication").Result()
		if err != nil {
			t.Fatal(err)
		}
		off, _ := strconv.ParseInt(infoFields(now)["master_repl_offset"], 10, 64)
		if part.Offset < 0 || part.Offset > off || part.RedisVersion == "" {
			t.Errorf("partition %d: offset at the cut %d (now %d), version %q", part.Partition, part.Offset, off, part.RedisVersion)
		}
		for _, k := range keys {
			i, err := strconv.Atoi(k[strings.IndexByte(k, ':')+1:])
			if err != nil {
				t.Fatalf("key %q", k)
			}
			have[i] = true
		}
	}
	last := -1
	for i := range have {
		last = max(last, i)
	}
	for i := 0; i <= last; i++ {
		if !have[i] {
			t.Fatalf("the backup holds write %d but not write %d: not one cut", last, i)
		}
	}
	if len(have) != last+1 {
		t.Fatalf("the backup holds %d writes, want the prefix 0..%d", len(have), last)
	}
	t.Logf("the backup holds writes 0..%d of %d acknowledged", last, acked.Load())
}

// A corrupted snapshot (one byte flipped) is found by Verify.
func TestVerifyFindsACorruptedFile(t *testing.T) {
	c, srvs := testCluster(t, 2)
	for _, s := range srvs {
		if err := client(t, s.Addr).Set(context.Background(), "k", strings.Repeat("v", 1000), 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	m, dir, err := Run(context.Background(), Options{Cluster: c, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	check, _ := FindCheckRDB(c)
	if err := Verify(context.Background(), dir, m, check); err != nil {
		t.Fatalf("a fresh backup does not verify: %v", err)
	}
	path := filepath.Join(dir, m.Parts[1].File)
	b, _ := os.ReadFile(path)
	b[len(b)/2] ^= 0xff
	os.WriteFile(path, b, 0o644)
	if err := Verify(context.Background(), dir, m, check); !errors.Is(err, ErrMismatch) {
		t.Fatalf("Verify of a flipped byte: %v, want ErrMismatch", err)
	}
	other, _ := testCluster(t, 3)
	if err := m.Fits(other); !errors.Is(err, ErrMismatch) {
		t.Errorf("Fits a 3-partition cluster: %v, want ErrMismatch", err)
	}
	if err := m.Fits(c); err != nil {
		t.Errorf("Fits its own cluster: %v", err)
	}
	// A hand-edited manifest that lists one partition's file twice.
	swapped := *m
	swapped.Parts = slices.Clone(m.Parts)
	swapped.Parts[0] = swapped.Parts[1]
	if err := swapped.Fits(c); !errors.Is(err, ErrMismatch) {
		t.Errorf("Fits with partition 1's file listed first: %v, want ErrMismatch", err)
	}
}

// A master that does not answer makes the backup fail and leaves nothing
// that looks like a backup; the other masters' writes are not left paused.
func TestBackupFailsCleanly(t *testing.T) {
	c, srvs := testCluster(t, 3)
	if err := syscall.Kill(srvs[2].PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	redistest.Eventually(t, 10*time.Second, func() bool { return client(t, srvs[2].Addr).Ping(context.Background()).Err() != nil }, "the killed master still answers")
	out := t.TempDir()
	if _, _, err := Run(context.Background(), Options{Cluster: c, Dir: out}); err == nil {
		t.Fatal("backup with a master down succeeded")
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("a failed backup left %v", entries)
	}
	if err := client(t, srvs[0].Addr).Set(context.Background(), "k", "v", 0).Err(); err != nil {
		t.Errorf("writes after the failed backup: %v", err)
	}
}

// helperEnv, set in a child test process, makes it run a backup of the
// cluster in that twine.conf and SIGKILL itself while writes are paused.
const helperEnv = "TWINE_BACKUP_DIE_PAUSED"

func TestMain(m *testing.M) {
	if conf := os.Getenv(helperEnv); conf != "" {
		c, err := config.Load(conf)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		_, _, err = Run(context.Background(), Options{Cluster: c, Dir: os.TempDir(), PauseTimeout: 2 * time.Second,
			paused: func() { _ = syscall.Kill(os.Getpid(), syscall.SIGKILL) }})
		fmt.Fprintln(os.Stderr, "not killed:", err)
		os.Exit(3)
	}
	os.Exit(m.Run())
}

// A backup SIGKILLed while writes are paused: Redis lifts the pause by
// itself after PauseTimeout, so writes resume.
func TestPauseEndsWhenBackupIsKilled(t *testing.T) {
	c, srvs := testCluster(t, 2)
	cmd := exec.Command(os.Args[0], "-test.run", "^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+c.File())
	killed := time.Now()
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ProcessState.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the helper did not die of SIGKILL: %v\n%s", err, out)
	}
	cl := client(t, srvs[0].Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cl.Set(ctx, "after", "1", 0).Err(); err != nil {
		t.Fatalf("write after the killed backup: %v", err)
	}
	waited := time.Since(killed)
	t.Logf("a write went through %s after the backup was started and killed (pause timeout 2s)", waited.Round(time.Millisecond))
	if waited < time.Second {
		t.Errorf("the write went through after %s: was the pause ever taken?", waited)
	}
}

// A master that dies while writes are paused: the backup fails, nothing
// is kept, and the other masters take writes at once.
func TestMasterDiesDuringTheCut(t *testing.T) {
	c, srvs := testCluster(t, 3)
	out := t.TempDir()
	_, _, err := Run(context.Background(), Options{Cluster: c, Dir: out, PauseTimeout: 30 * time.Second,
		paused: func() { _ = syscall.Kill(srvs[1].PID, syscall.SIGKILL) }})
	if !errors.Is(err, ErrPause) {
		t.Fatalf("backup with a master killed in the cut: %v, want ErrPause", err)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("the failed backup left %v", entries)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, i := range []int{0, 2} {
		if err := client(t, srvs[i].Addr).Set(ctx, "k", "v", 0).Err(); err != nil {
			t.Errorf("master %d still paused after the failed backup: %v", i, err)
		}
	}
}

// fillSlow writes the 2000 keys that make slowSave slow.
func fillSlow(t *testing.T, cl *redis.Client) {
	t.Helper()
	ctx := context.Background()
	p := cl.Pipeline()
	for i := range 2000 {
		p.Set(ctx, fmt.Sprintf("slow:%d", i), i, 0)
	}
	if _, err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
}

// slowSave starts a BGSAVE on cl whose child takes about 2000 keys × 500µs
// = 1s (rdb-key-save-delay is the child's; the parent's is put back to 0
// at once, so a later snapshot is not slowed). It writes nothing, so it
// runs while writes are paused.
func slowSave(t *testing.T, cl *redis.Client) {
	t.Helper()
	ctx := context.Background()
	for _, err := range []error{
		cl.ConfigSet(ctx, "rdb-key-save-delay", "500").Err(),
		cl.BgSave(ctx).Err(),
		cl.ConfigSet(ctx, "rdb-key-save-delay", "0").Err(),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// saving says whether cl runs a BGSAVE.
func saving(t *testing.T, cl *redis.Client) bool {
	t.Helper()
	info, err := cl.Info(context.Background(), "persistence").Result()
	if err != nil {
		t.Fatal(err)
	}
	return infoFields(info)["rdb_bgsave_in_progress"] == "1"
}

// A save running when the backup starts (Redis forks one child at a time)
// is waited for before writes are paused, not inside the pause.
func TestBackupWaitsForARunningSave(t *testing.T) {
	c, srvs := testCluster(t, 3)
	cl := client(t, srvs[1].Addr)
	fillSlow(t, cl)
	slowSave(t, cl)
	if !saving(t, cl) {
		t.Fatal("the slow BGSAVE is not running")
	}
	var waited []string
	m, _, err := Run(context.Background(), Options{Cluster: c, Dir: t.TempDir(), PauseTimeout: time.Second,
		Waiting: func(node, why string) { waited = append(waited, node+" "+why) }})
	if err != nil {
		t.Fatalf("backup while a save runs: %v", err)
	}
	t.Logf("waited for %v; writes paused %.1f ms", waited, m.PauseMS)
	if len(waited) != 1 || waited[0] != "n1 saving" {
		t.Errorf("waited for %v, want [n1 saving]", waited)
	}
	if m.Pause >= 500*time.Millisecond || m.Parts[1].Keys != 2000 {
		t.Errorf("paused %s (the snapshot must fork within half the 1s pause timeout); partition 1 has %d keys, want 2000", m.Pause, m.Parts[1].Keys)
	}
}

// A save forked just before the pause (here: inside it; BGSAVE is no
// write) delays that master's snapshot past the pause: writes resume and
// the cut is taken again once the save has ended.
func TestCutIsTakenAgainAfterALateSave(t *testing.T) {
	c, srvs := testCluster(t, 3)
	cl := client(t, srvs[2].Addr)
	fillSlow(t, cl)
	cuts := 0
	m, dir, err := Run(context.Background(), Options{Cluster: c, Dir: t.TempDir(), PauseTimeout: time.Second,
		paused: func() {
			if cuts++; cuts == 1 {
				slowSave(t, cl)
			}
		}})
	if err != nil {
		t.Fatalf("backup with a save forked in the cut: %v", err)
	}
	t.Logf("%d cuts; writes paused %.1f ms in the last", cuts, m.PauseMS)
	if cuts != 2 || m.Parts[2].Keys != 2000 {
		t.Errorf("%d cuts (want 2); partition 2 has %d keys (want 2000)", cuts, m.Parts[2].Keys)
	}
	if err := Verify(context.Background(), dir, m, ""); err != nil {
		t.Errorf("verify: %v", err)
	}
}
