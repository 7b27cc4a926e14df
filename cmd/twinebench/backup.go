package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/twine/twine/config/route/backup"
)

// backupScenario measures `twined -backup` (the consistent cut of every
// master) and `twined -restore` on N nodes of backupKeys keys each under
// twined, and, as the floor under the restore, plain redis-servers
// loading the same snapshots with no supervisor.
var backupScenario = scenario{
	Name:   "backup",
	Title:  "backup (one cut of every master) and restore, 10k keys per partition; floor: plain redis-servers loading the same snapshots",
	Nodes:  64,
	Trials: fixed(5),
	Run:    runBackup,
}

// backupKeys is how many keys each partition holds.
const backupKeys = 10000

func runBackup(ctx context.Context, b *bench, sys system, base result, trials int) ([]result, error) {
	pause, forks, total, restore, load := base, base, base, base, base
	pause.Metric, pause.Unit, pause.Target = "backup_pause_ms", "ms", target{Text: "max ≤ 50ms (64 partitions)", Max: 50}
	forks.Supervisor, forks.Metric, forks.Unit, forks.Target = "none", "fork_floor_ms", "ms", target{Text: "none (the floor under the pause: BGSAVE on every node at once → all forked)"}
	total.Metric, total.Unit, total.Target = "backup_total_ms", "ms", target{Text: "none"}
	restore.Metric, restore.Unit, restore.Target = "restore_total_ms", "ms", target{Text: "none (twined -restore of every partition)"}
	load.Supervisor, load.Metric, load.Unit, load.Target = "none", "plain_load_ms", "ms", target{Text: "none (the floor: N redis-servers loading the snapshots)"}
	rows := func() []result { return []result{pause, forks, total, restore, load} }
	if sys.Name() != "twined" {
		return nil, nil // the bench of twined's own commands
	}
	err := b.session(ctx, sys, base.Nodes, func(c *cluster, _ *launched) error {
		if err := fillNodes(ctx, c, backupKeys); err != nil {
			return err
		}
		out := filepath.Join(c.dir, "backups")
		var last string
		for i := range trials {
			begin := time.Now()
			m, dir, err := backup.Run(ctx, backup.Options{Cluster: c.conf, Dir: out})
			if err != nil {
				return err
			}
			total.Samples = append(total.Samples, ms(time.Since(begin)))
			pause.Samples = append(pause.Samples, m.PauseMS)
			b.logf("backup: trial %d/%d: paused %.1fms, %s in total, %d keys", i+1, trials, m.PauseMS, time.Since(begin).Round(time.Millisecond), m.Keys)
			last = dir
			if err := pause1s(ctx); err != nil {
				return err
			}
		}
		for i := range trials {
			d, err := forkAll(ctx, c)
			if err != nil {
				return err
			}
			forks.Samples = append(forks.Samples, ms(d))
			b.logf("fork floor: trial %d/%d: every node forked in %.1fms", i+1, trials, ms(d))
		}
		for i := range min(trials, 3) {
			begin := time.Now()
			cmd := exec.CommandContext(ctx, b.twined, "-restore", last, "-yes", "-config", c.file)
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("twined -restore: %w\n%s", err, out)
			}
			restore.Samples = append(restore.Samples, ms(time.Since(begin)))
			b.logf("restore: trial %d/%d: %s", i+1, min(trials, 3), time.Since(begin).Round(time.Millisecond))
		}
		for i := range min(trials, 3) {
			d, err := plainLoad(ctx, b, last, c)
			if err != nil {
				return err
			}
			load.Samples = append(load.Samples, ms(d))
			b.logf("plain load: trial %d/%d: %s", i+1, min(trials, 3), d.Round(time.Millisecond))
		}
		return nil
	})
	return rows(), err
}

// forkAll sends BGSAVE to every node at once and returns the time until
// all have answered (each answers once it has forked its child), then
// waits for the children to end.
func forkAll(ctx context.Context, c *cluster) (time.Duration, error) {
	clients := make([]*redis.Client, len(c.nodes))
	for i, n := range c.nodes {
		clients[i] = redis.NewClient(&redis.Options{Addr: n.Addr(), Protocol: 2, DisableIdentity: true})
		defer clients[i].Close()
		if err := clients[i].Ping(ctx).Err(); err != nil { // connected before the clock starts
			return 0, err
		}
	}
	errs := make(chan error, len(clients))
	begin := time.Now()
	for _, cl := range clients {
		go func() { errs <- cl.BgSave(ctx).Err() }()
	}
	var first error
	for range clients {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	d := time.Since(begin)
	if first != nil {
		return 0, fmt.Errorf("bgsave: %w", first)
	}
	deadline := time.Now().Add(time.Minute)
	for _, cl := range clients {
		for {
			info, err := cl.Info(ctx, "persistence").Result()
			if err != nil {
				return 0, err
			}
			if strings.Contains(info, "rdb_bgsave_in_progress:0") {
				break
			}
			if time.Now().After(deadline) {
				return 0, fmt.Errorf("a BGSAVE did not end within a minute")
			}
			if err := pause(ctx, 5*time.Millisecond); err != nil {
				return 0, err
			}
		}
	}
	return d, pause1s(ctx)
}

// pause1s waits a second between backups (each leaves a fork behind it).
func pause1s(ctx context.Context) error { return pause(ctx, time.Second) }

// fillNodes writes n keys of 32 bytes to every node.
func fillNodes(ctx context.Context, c *cluster, n int) error {
	return eachNode(c, func(addr string) error {
		cl := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, DisableIdentity: true})
		defer cl.Close()
		for start := 0; start < n; start += 1000 {
			p := cl.Pipeline()
			for i := start; i < min(start+1000, n); i++ {
				p.Set(ctx, fmt.Sprintf("key:%d", i), "0123456789abcdef0123456789abcdef", 0)
			}
			if _, err := p.Exec(ctx); err != nil {
				return fmt.Errorf("fill %s: %w", addr, err)
			}
		}
		return nil
	})
}

// eachNode runs fn for every node's address in parallel.
func eachNode(c *cluster, fn func(addr string) error) error {
	errs := make(chan error, len(c.nodes))
	for _, n := range c.nodes {
		go func() { errs <- fn(n.Addr()) }()
	}
	var first error
	for range c.nodes {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// plainLoad starts one plain redis-server per snapshot of the backup in
// dir, all at once, each loading its file, and returns the time until
// every one answers PING (not LOADING).
func plainLoad(ctx context.Context, b *bench, dir string, c *cluster) (time.Duration, error) {
	m, err := backup.Read(dir)
	if err != nil {
		return 0, err
	}
	ports, err := freePorts(len(m.Parts))
	if err != nil {
		return 0, err
	}
	var cmds []*exec.Cmd
	defer func() {
		for _, cmd := range cmds {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()
	begin := time.Now()
	for i, p := range m.Parts {
		cmd := exec.Command(b.redis, "--port", fmt.Sprint(ports[i]), "--bind", "127.0.0.1", "--dir", dir,
			"--dbfilename", p.File, "--save", "", "--appendonly", "no", "--logfile", "")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Stdout, cmd.Stderr = nil, nil
		if err := cmd.Start(); err != nil {
			return 0, err
		}
		cmds = append(cmds, cmd)
		c.saw(cmd.Process.Pid)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for i := range m.Parts {
		addr := fmt.Sprintf("127.0.0.1:%d", ports[i])
		for {
			if _, err := probe(addr, 200*time.Millisecond); err == nil {
				break
			}
			if time.Now().After(deadline) {
				return time.Duration(math.MaxInt64), fmt.Errorf("plain redis-server %s did not load within 2 minutes", addr)
			}
			if err := pause(ctx, time.Millisecond); err != nil {
				return 0, err
			}
		}
	}
	d := time.Since(begin)
	_ = os.Remove(filepath.Join(dir, "dump.rdb")) // none is written (save ""), but be sure
	return d, nil
}
