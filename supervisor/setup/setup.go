// Package setup lays out a host's nodes on disk: the directory of each node
// and the redis.conf it is started from, rendered from the embedded
// template. It never touches a node's data files.
package setup

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/twine/twine/config"
	"github.com/twine/twine/templates"
)

// Result tells what Host did for one node.
type Result struct {
	Node    config.Node
	Files   config.NodeFiles
	Changed bool // redis.conf was created or its content changed
}

// Host creates the directory and writes the redis.conf of every node of the
// cluster that lives on host. It is idempotent: running it again rewrites
// only the configs whose content changes and leaves data files alone. It
// stops at the first failure, naming the node and the path.
func Host(c *config.Cluster, host string) ([]Result, error) {
	password, err := ReadPassword(c.Settings().RedisPasswordFile)
	if err != nil {
		return nil, err
	}
	var out []Result
	for _, n := range c.NodesOn(host) {
		r, err := Node(c, n, password)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Node creates one node's directory and writes its redis.conf atomically.
// password is the redis password ("" for none, see ReadPassword).
func Node(c *config.Cluster, n config.Node, password string) (Result, error) {
	files := c.Files(n)
	res := Result{Node: n, Files: files}
	conf, err := Render(c, n, password)
	if err != nil {
		return res, err
	}
	if err := os.MkdirAll(files.Dir, 0o750); err != nil {
		return res, fmt.Errorf("set up node %s: %w", n.Name, err)
	}
	old, err := os.ReadFile(files.Conf)
	if err == nil && bytes.Equal(old, conf) {
		return res, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return res, fmt.Errorf("set up node %s: %w", n.Name, err)
	}
	mode := fs.FileMode(0o644)
	if password != "" {
		mode = 0o600 // holds requirepass
	}
	if err := writeAtomic(files.Conf, conf, mode); err != nil {
		return res, fmt.Errorf("set up node %s: %w", n.Name, err)
	}
	res.Changed = true
	return res, nil
}

// Render returns the redis.conf of node n.
func Render(c *config.Cluster, n config.Node, password string) ([]byte, error) {
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
	if n.Kind == config.Data && n.Member > 0 {
		m, _ := c.InitialMaster(n.Partition)
		d.ReplicaOf = fmt.Sprintf("%s %d", quote(m.Host), m.Port)
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
