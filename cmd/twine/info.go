package main

import (
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/twine/twine/config"
	"github.com/twine/twine/config/hash"
)

// runHash prints the partition of -hash KEY. With -partitions N it needs
// no config: the hash function is the config's when one is found
// (-config, $TWINE_CONFIG or the default file), else crc32, the default.
func (c *cli) runHash() error {
	key := []byte(c.o.hashKey)
	if c.o.given["partitions"] {
		f, err := c.hashFunc()
		if err != nil {
			return err
		}
		p, err := f.Partition(key, c.o.partitions)
		if err != nil {
			return err
		}
		fmt.Fprintln(c.stdout, p)
		return nil
	}
	cl, err := c.loadConfig()
	if err != nil {
		return err
	}
	p, err := cl.Partition(key)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, p)
	return nil
}

// hashFunc returns the config's hash function, or the default when no
// config file exists.
func (c *cli) hashFunc() (hash.Func, error) {
	cl, err := c.loadConfig()
	if err == nil {
		return cl.Hash(), nil
	}
	if _, explicit := c.configPath(); explicit || fileExists(defaultConfig) {
		return nil, err
	}
	return hash.New("")
}

// runNodes prints the partition -> node map of the config, one node per
// line: data nodes by partition (master first), then status nodes. Roles
// are those of twine.conf: the first node of a partition is its master.
func (c *cli) runNodes() error {
	cl, err := c.loadConfig()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PARTITION\tROLE\tNODE\tADDRESS\tDB")
	for p := range cl.Partitions() {
		for _, n := range cl.ReplicaSet(p) {
			role := "replica"
			if n.InitialMaster() {
				role = "master"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\n", p, role, n.Name, n.Addr(), n.DB)
		}
	}
	for _, n := range cl.Nodes() {
		if n.Kind == config.Status {
			fmt.Fprintf(tw, "-\tstatus\t%s\t%s\t%s\n", n.Name, n.Addr(), strconv.Itoa(n.DB))
		}
	}
	return tw.Flush()
}
