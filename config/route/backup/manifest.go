package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/twine/twine/config"
)

// ManifestFormat is the manifest's format version.
const ManifestFormat = 1

// ManifestFile is the manifest's name in a backup directory. It is written
// last, atomically: a directory without it is not a backup.
const ManifestFile = "manifest.json"

// Manifest describes one backup.
type Manifest struct {
	Format     int           `json:"format"`
	Cluster    string        `json:"cluster"`
	Partitions int           `json:"partitions"`
	Hash       string        `json:"hash"`
	Time       time.Time     `json:"time"` // the cut: when the last master forked
	Pause      time.Duration `json:"-"`
	PauseMS    float64       `json:"pause_ms"` // how long writes were paused
	Source     string        `json:"source"`   // the twine.conf it was taken with
	Bytes      int64         `json:"bytes"`
	Keys       int64         `json:"keys"`
	Parts      []Partition   `json:"partition_files"`
}

// Partition is one partition's snapshot in a backup.
type Partition struct {
	Partition    int    `json:"partition"`
	Node         string `json:"node"` // the master it was taken from
	Host         string `json:"host"`
	RedisVersion string `json:"redis_version"`
	RDBVersion   int    `json:"rdb_version"`
	Offset       int64  `json:"replication_offset"` // the master's at the cut
	Keys         int64  `json:"keys"`
	Expires      int64  `json:"expires"` // keys with a TTL: they may be gone by a restore
	File         string `json:"file"`
	Bytes        int64  `json:"bytes"`
	SHA256       string `json:"sha256"`
}

// write writes the manifest into dir atomically.
func (m *Manifest) write(dir string) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, ManifestFile+".tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("backup: write manifest: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("backup: write manifest: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("backup: write manifest: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("backup: write manifest: %w", err)
	}
	return os.Rename(tmp, filepath.Join(dir, ManifestFile))
}

// ErrNotBackup: the directory has no readable manifest.
var ErrNotBackup = errors.New("not a backup")

// ErrMismatch: a backup does not fit the cluster, or its files are not
// what its manifest says.
var ErrMismatch = errors.New("backup does not match")

// Read reads the manifest of the backup in dir.
func Read(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", dir, ErrNotBackup, err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w: manifest: %w", dir, ErrNotBackup, err)
	}
	if m.Format != ManifestFormat {
		return nil, fmt.Errorf("%s: %w: manifest format %d, this twined reads %d", dir, ErrNotBackup, m.Format, ManifestFormat)
	}
	m.Pause = time.Duration(m.PauseMS * float64(time.Millisecond))
	return &m, nil
}

// Fits checks that the backup can be restored into c: the same number of
// partitions and the same hash (names and hosts may differ).
func (m *Manifest) Fits(c *config.Cluster) error {
	switch {
	case m.Partitions != c.Partitions():
		return fmt.Errorf("%w: the backup has %d partitions, %s has %d", ErrMismatch, m.Partitions, c.File(), c.Partitions())
	case m.Hash != c.Settings().Hash:
		return fmt.Errorf("%w: the backup's keys were hashed with %q, %s uses %q", ErrMismatch, m.Hash, c.File(), c.Settings().Hash)
	case len(m.Parts) != m.Partitions:
		return fmt.Errorf("%w: the manifest lists %d files for %d partitions", ErrMismatch, len(m.Parts), m.Partitions)
	}
	for i, p := range m.Parts {
		if p.Partition != i {
			return fmt.Errorf("%w: the manifest's file %d (%s) is for partition %d, not %d", ErrMismatch, i+1, p.File, p.Partition, i)
		}
	}
	return nil
}

// Verify re-reads every file of the backup in dir against its manifest
// (size and SHA-256) and, with checkRDB set, has redis-check-rdb read it.
func Verify(ctx context.Context, dir string, m *Manifest, checkRDB string) error {
	var errs []error
	for _, p := range m.Parts {
		path := filepath.Join(dir, p.File)
		sum, n, err := hashFile(path)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("partition %d: %w", p.Partition, err))
		case n != p.Bytes || sum != p.SHA256:
			errs = append(errs, fmt.Errorf("partition %d: %s is %d bytes with SHA-256 %s, the manifest says %d bytes, %s: %w", p.Partition, p.File, n, sum[:12], p.Bytes, short(p.SHA256), ErrMismatch))
		case checkRDB != "":
			var got Partition
			if err := checkRDBFile(ctx, checkRDB, path, &got); err != nil {
				errs = append(errs, fmt.Errorf("partition %d: %w", p.Partition, err))
			}
		}
	}
	return errors.Join(errs...)
}

func short(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

// hashFile returns a file's SHA-256 and size.
func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil)), n, err
}

// findCheckRDB finds redis-check-rdb.
func findCheckRDB(o Options) (string, error) {
	if o.CheckRDB != "" {
		return o.CheckRDB, nil
	}
	return FindCheckRDB(o.Cluster)
}

// FindCheckRDB returns redis-check-rdb: beside the cluster's redis-server
// (c may be nil), else on PATH.
func FindCheckRDB(c *config.Cluster) (string, error) {
	server := "redis-server"
	if c != nil {
		server = c.Settings().RedisServer
	}
	if bin, err := exec.LookPath(server); err == nil {
		if p := filepath.Join(filepath.Dir(bin), "redis-check-rdb"); isExec(p) {
			return p, nil
		}
	}
	p, err := exec.LookPath("redis-check-rdb")
	if err != nil {
		return "", fmt.Errorf("backup: redis-check-rdb is needed to check snapshots: %w (it comes with redis-server: apt-get install -y redis-server)", err)
	}
	return p, nil
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0
}

// checkRDB runs redis-check-rdb on path and fills the entry's key counts
// and RDB version.
func checkRDB(ctx context.Context, bin, path string, e *Partition) error {
	return checkRDBFile(ctx, bin, path, e)
}

var (
	keysRead = regexp.MustCompile(`(?m)^\[info\] (\d+) keys read`)
	expires  = regexp.MustCompile(`(?m)^\[info\] (\d+) expires`)
)

func checkRDBFile(ctx context.Context, bin, path string, e *Partition) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, path).CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("RDB looks OK")) {
		last := strings.TrimSpace(string(out))
		if i := strings.LastIndexByte(last, '\n'); i >= 0 && len(last)-i < 300 {
			last = last[i+1:]
		}
		return fmt.Errorf("%s: %w: %s (%v)", filepath.Base(path), ErrCheck, last, err)
	}
	if m := keysRead.FindSubmatch(out); m != nil {
		e.Keys, _ = strconv.ParseInt(string(m[1]), 10, 64)
	}
	if m := expires.FindSubmatch(out); m != nil {
		e.Expires, _ = strconv.ParseInt(string(m[1]), 10, 64)
	}
	head := make([]byte, 9)
	if f, err := os.Open(path); err == nil {
		_, _ = io.ReadFull(f, head)
		f.Close()
		if bytes.HasPrefix(head, []byte("REDIS")) {
			e.RDBVersion, _ = strconv.Atoi(string(head[5:]))
		}
	}
	return nil
}

// Listed is one backup of a directory, for -backups.
type Listed struct {
	Path     string
	Manifest *Manifest // nil when it has none (an interrupted run)
	Err      error
}

// List returns the backups under dir, oldest first; a directory named
// like one but without a manifest is listed with its error.
func List(dir string) ([]Listed, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list backups: %w", err)
	}
	var out []Listed
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "twine-") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		m, err := Read(p)
		out = append(out, Listed{Path: p, Manifest: m, Err: err})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}
