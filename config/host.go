package config

import (
	"fmt"
	"slices"
	"strings"
)

// ResolveHost picks the host a twined serves. flag is the -host value ("" if
// not given) and hostname the machine's name. An explicit flag must name a
// host of the file. Otherwise the machine's hostname (or its first label) is
// used when the file names it, else the file's only host. Failing both, the
// error wraps ErrUnknownHost and lists the hosts the file knows.
func (c *Cluster) ResolveHost(flag, hostname string) (string, error) {
	known := strings.Join(c.hosts, ", ")
	if flag != "" {
		if slices.Contains(c.hosts, flag) {
			return flag, nil
		}
		return "", fmt.Errorf("-host %s: %w: %s names no node on it (hosts: %s)", flag, ErrUnknownHost, c.file, known)
	}
	short, _, _ := strings.Cut(hostname, ".")
	for _, h := range []string{hostname, short} {
		if h != "" && slices.Contains(c.hosts, h) {
			return h, nil
		}
	}
	if len(c.hosts) == 1 {
		return c.hosts[0], nil
	}
	return "", fmt.Errorf("%w: this machine's hostname %q is not a host of %s; choose one with -host (hosts: %s)", ErrUnknownHost, hostname, c.file, known)
}
