// Package setup lays out a host's nodes on disk: the directory of each node
// and the redis.conf it is started from, rendered from the embedded
// template. It never touches a node's data files.
package setup

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/twine/twine/config"
	"github.com/twine/twine/templates"
)

// Result tells what Host did for one node.
type Result struct {
	Node    config.Node
	Files   config.NodeFiles
	Changed bool // redis.conf was created or its content changed
}

// Host creates the directory and writes the config of every node of the
// cluster that lives on host: each redis.conf with the role its node last
// had (CurrentRole), each Sentinel's sentinel.conf when it has none yet
// (monitoring the initial masters; twined itself asks the cluster for
// the current ones). It is idempotent: running it again rewrites only the
// configs whose content changes and leaves data files alone. It stops at
// the first failure, naming the node and the path.
func Host(c *config.Cluster, host string) ([]Result, error) {
	password, err := ReadPassword(c.Settings().RedisPasswordFile)
	if err != nil {
		return nil, err
	}
	var out []Result
	for _, n := range c.NodesOn(host) {
		var r Result
		if n.Kind == config.Sentinel {
			r, err = Sentinel(c, n, password, nil)
		} else {
			var role Role
			if role, err = CurrentRole(c, n); err == nil {
				r, err = Node(c, n, password, role)
			}
		}
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Node creates one node's directory and writes its redis.conf atomically,
// giving it role. password is the redis password ("" for none, see
// ReadPassword).
func Node(c *config.Cluster, n config.Node, password string, role Role) (Result, error) {
	conf, err := Render(c, n, password, role)
	if err != nil {
		return Result{Node: n, Files: c.Files(n)}, err
	}
	return write(c, n, conf, password != "", false)
}

// write creates the node's directory and writes conf as its config file,
// atomically, unless the file already holds it (or, with once, exists at
// all). secret makes the file readable by its owner only; the mode of an
// unchanged file is mended too (Redis's CONFIG REWRITE makes it 0644).
func write(c *config.Cluster, n config.Node, conf []byte, secret, once bool) (Result, error) {
	files := c.Files(n)
	res := Result{Node: n, Files: files}
	if err := os.MkdirAll(files.Dir, 0o750); err != nil {
		return res, fmt.Errorf("set up node %s: %w", n.Name, err)
	}
	mode := fs.FileMode(0o644)
	if secret {
		mode = 0o600 // holds requirepass
	}
	old, err := os.ReadFile(files.Conf)
	if err == nil && (once || bytes.Equal(old, conf)) {
		if st, serr := os.Stat(files.Conf); serr == nil && st.Mode().Perm() != mode && secret {
			if err := os.Chmod(files.Conf, mode); err != nil {
				return res, fmt.Errorf("set up node %s: %w", n.Name, err)
			}
		}
		return res, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return res, fmt.Errorf("set up node %s: %w", n.Name, err)
	}
	if err := writeAtomic(files.Conf, conf, mode); err != nil {
		return res, fmt.Errorf("set up node %s: %w", n.Name, err)
	}
	res.Changed = true
	return res, nil
}

// Render returns the redis.conf of node n in role.
func Render(c *config.Cluster, n config.Node, password string, role Role) ([]byte, error) {
	s := c.Settings()
	files := c.Files(n)
	d := templates.RedisConfData{
		Node:       n.Name,
		Source:     c.File(),
		Line:       n.Line,
		Port:       n.Port,
		Bind:       quote(n.Host),
		Protected:  config.IsLoopback(n.Host),
		Dir:        quote(files.Dir),
		Pidfile:    quote(files.Pidfile),
		Logfile:    quote(files.Log),
		Databases:  max(16, n.DB+1),
		AppendOnly: s.AppendOnly,
		Password:   quoteIf(password),
	}
	if role.Upstream != "" {
		host, port, err := net.SplitHostPort(role.Upstream)
		if err != nil {
			return nil, fmt.Errorf("render redis.conf of %s: master address %q: %w", n.Name, role.Upstream, err)
		}
		d.ReplicaOf = quote(host) + " " + port
	}
	if c.Watched(n) {
		d.AnnounceIP = quote(n.Host)
	}
	if c.Replicated(n) && s.MinReplicasToWrite > 0 {
		d.MinReplicas = s.MinReplicasToWrite
		d.MinReplicasLag = int(max(s.MinReplicasMaxLag/time.Second, 1))
	}
	for _, inc := range s.RedisIncludes {
		d.Includes = append(d.Includes, quote(inc))
	}
	var b bytes.Buffer
	if err := templates.RedisConf.Execute(&b, d); err != nil {
		return nil, fmt.Errorf("render redis.conf of %s: %w", n.Name, err)
	}
	return b.Bytes(), nil
}

// ReadPassword reads the redis password from the file named by
// `set redis-password-file`; "" when path is "". Surrounding white space is
// dropped; an empty file is an error.
func ReadPassword(path string) (string, error) {
	return config.ReadSecret(path, "redis-password-file")
}

// writeAtomic writes data to path through a temporary file in the same
// directory, synced and renamed over path, so a reader sees the old file or
// the new one, never a part.
func writeAtomic(path string, data []byte, mode fs.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
