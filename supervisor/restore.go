package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/twine/twine/config"
	"github.com/twine/twine/config/route/replset"
)

// ErrRestore is wrapped by every Restore failure; the node has its data of
// before back when the error says so.
var ErrRestore = errors.New("restore failed")

// RestoreResult says what Restore did.
type RestoreResult struct {
	Node  string
	Keys  int64  // keys the node holds after the restore
	Aside string // where its data of before was moved (never deleted)
}

// restoreTimeout bounds the start of a restored node until it answers.
const restoreTimeout = startGrace + time.Minute

// Restore replaces node name's data with the snapshot rdb (an RDB file):
// the snapshot is staged in the node's directory, the node stopped
// cleanly (and marked stopped, so that a twined dying meanwhile never
// starts it empty), its data moved aside into pre-restore-TIME/, the
// snapshot installed (as dump.rdb, or for appendonly as the base of a new
// AOF, so that what Redis loads is the snapshot), and the node started
// again. It must then answer and hold between minKeys and maxKeys keys
// (keys whose TTL ran out since the backup are gone). On any failure the
// data of before goes back in place and the node is started on it.
func (s *Supervisor) Restore(ctx context.Context, name, rdb string, minKeys, maxKeys int64) (RestoreResult, error) {
	res := RestoreResult{Node: name}
	w, err := s.watcher(name)
	if err != nil {
		return res, err
	}
	c := s.currentCluster()
	dir := w.files.Dir
	stamp := time.Now().UTC().Format("20060102T150405Z")
	staged := filepath.Join(dir, "restore-staged-"+stamp)
	if err := stage(staged, rdb, c.Settings().AppendOnly); err != nil {
		return res, fmt.Errorf("%w: stage the snapshot for %s: %w", ErrRestore, name, err)
	}
	defer os.RemoveAll(staged)
	if err := s.Stop(ctx, name); err != nil {
		return res, fmt.Errorf("%w: stop %s: %w", ErrRestore, name, err)
	}
	if err := waitNodeState(ctx, w, Stopped, c.Settings().StopTimeout+15*time.Second); err != nil {
		return res, fmt.Errorf("%w: stop %s: %w (its data is untouched; it stays stopped: twined -start %s)", ErrRestore, name, err, name)
	}
	res.Aside = filepath.Join(dir, "pre-restore-"+stamp)
	if err := swapData(dir, res.Aside, staged); err != nil {
		// Half moved: its data of before goes back before it may start.
		failed := filepath.Join(dir, "restore-failed-"+stamp)
		if rerr := swapData(dir, failed, res.Aside); rerr != nil {
			return res, fmt.Errorf("%w: install the snapshot for %s: %w; and putting its data of before back failed: %w (it is in %s; %s stays stopped)", ErrRestore, name, err, rerr, res.Aside, name)
		}
		_ = s.StartNode(context.Background(), name)
		return res, fmt.Errorf("%w: install the snapshot for %s: %w; its data of before is back", ErrRestore, name, err)
	}
	keys, err := s.startAndCount(ctx, w, name)
	if err == nil && (keys < minKeys || keys > maxKeys) {
		err = fmt.Errorf("it holds %d keys, the backup %d to %d", keys, minKeys, maxKeys)
	}
	if err == nil {
		res.Keys = keys
		return res, nil
	}
	// Roll back: the data of before goes back, the restored one aside.
	failed := filepath.Join(dir, "restore-failed-"+stamp)
	_ = s.Stop(context.Background(), name)
	_ = waitNodeState(context.Background(), w, Stopped, c.Settings().StopTimeout+15*time.Second)
	if rerr := swapData(dir, failed, res.Aside); rerr != nil {
		return res, fmt.Errorf("%w: %s: %v; and putting its data of before back failed: %w (it is in %s; %s stays stopped)", ErrRestore, name, err, rerr, res.Aside, name)
	}
	_ = s.StartNode(context.Background(), name)
	return res, fmt.Errorf("%w: %s: %v; its data of before is back (the snapshot is in %s)", ErrRestore, name, err, failed)
}

// currentCluster returns the config in force.
func (s *Supervisor) currentCluster() *config.Cluster {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cluster
}

// startAndCount starts the node, waits until it answers (not loading) and
// returns its DBSIZE.
func (s *Supervisor) startAndCount(ctx context.Context, w *watcher, name string) (int64, error) {
	if err := s.StartNode(ctx, name); err != nil {
		return 0, err
	}
	if err := waitNodeState(ctx, w, Up, restoreTimeout); err != nil {
		return 0, err
	}
	s.mu.Lock()
	password := s.env.password
	timeout := max(s.env.settings.CheckTimeout, time.Second)
	s.mu.Unlock()
	cl := replset.NewClient(w.node.Addr(), password, timeout)
	defer cl.Close()
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return cl.DBSize(cctx).Result()
}

// waitNodeState waits until the watcher's node is in state want.
func waitNodeState(ctx context.Context, w *watcher, want State, bound time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		st := w.snapshot()
		if st.State == want {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("still %s after %s (%s)", st.State, bound, st.Reason)
		case <-t.C:
		}
	}
}

// dataFiles are the names of a node's data in its directory.
var dataFiles = []string{"dump.rdb", "appendonlydir"}

// stage lays the snapshot out in dir as the node will load it: dump.rdb,
// or with appendonly an AOF directory whose base is the snapshot.
func stage(dir, rdb string, appendOnly bool) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	if !appendOnly {
		return copyFile(rdb, filepath.Join(dir, "dump.rdb"))
	}
	aof := filepath.Join(dir, "appendonlydir")
	if err := os.MkdirAll(aof, 0o750); err != nil {
		return err
	}
	if err := copyFile(rdb, filepath.Join(aof, "appendonly.aof.1.base.rdb")); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(aof, "appendonly.aof.1.incr.aof"), nil, 0o640); err != nil {
		return err
	}
	manifest := "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
	return os.WriteFile(filepath.Join(aof, "appendonly.aof.manifest"), []byte(manifest), 0o640)
}

// swapData moves the node's data files from dir into aside, and those of
// in into dir (renames: nothing is copied or deleted).
func swapData(dir, aside, in string) error {
	if err := os.MkdirAll(aside, 0o750); err != nil {
		return err
	}
	for _, f := range dataFiles {
		if err := os.Rename(filepath.Join(dir, f), filepath.Join(aside, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	for _, f := range dataFiles {
		if err := os.Rename(filepath.Join(in, f), filepath.Join(dir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
