// Package hash maps keys to partitions for the twine client.
//
// A Func is chosen by the `set hash` setting of twine.conf: one of the
// built-in functions (see Names) or "exec PATH", an external program that
// takes a key and the number of partitions and prints the partition, as the
// original twine-hash did. Every Func applies the Redis Cluster {hash tag}
// rule (see Tag) before hashing, so keys that share a tag share a partition.
package hash

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// Func maps a key to a partition number in [0, n).
//
// Implementations are immutable and safe for concurrent use.
type Func interface {
	// Partition returns the partition of key among n partitions (n >= 1).
	// The Redis Cluster {hash tag} rule is applied before hashing (see Tag).
	// It returns an error when n < 1; the built-in functions fail for no
	// other reason.
	Partition(key []byte, n int) (int, error)
	// Name is the spec that selects this function, e.g. "crc32" or
	// "exec /usr/local/bin/h". New(f.Name()) returns an equivalent Func.
	Name() string
}

// defaultName is the hash function used when twine.conf has no `set hash`
// line.
const defaultName = "crc32"

// ErrUnknown is wrapped by the error New returns for a name it does not know.
var ErrUnknown = errors.New("unknown hash function")

// errPartitions is wrapped by the error Partition returns when n < 1.
var errPartitions = errors.New("number of partitions must be at least 1")

// execName is the spec word that selects an external program.
const execName = "exec"

// New returns the hash function named by spec: "crc32" (IEEE, the default),
// "crc16" (Redis Cluster's CRC16-XMODEM), "fnv1a-32", "fnv1a-64", "md5"
// (first 4 bytes of the digest, little-endian, as twemproxy does), or
// "exec PATH" (an external program, see the exec sentinel errors).
// An empty spec selects "crc32". Surrounding white space is ignored.
//
// An unknown name returns an error wrapping ErrUnknown whose text lists the
// known names and suggests the closest one ("did you mean crc32?").
// "exec" without a path, or with a path that is not an existing executable
// file, is an error. The path is used as given: it is not looked up in
// $PATH, and a relative path is relative to the working directory of the
// process at each call.
func New(spec string) (Func, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		spec = defaultName
	}
	name, arg := splitSpec(spec)
	if name == execName {
		return newExec(arg)
	}
	for i := range builtins {
		b := &builtins[i]
		if b.name != name {
			continue
		}
		if arg != "" {
			return nil, fmt.Errorf("hash function %s takes no argument, got %q", name, arg)
		}
		return b, nil
	}
	msg := fmt.Sprintf("%q (known: %s, %s PATH)", name, strings.Join(Names(), ", "), execName)
	if s := suggest(name); s != "" {
		if s == execName && arg != "" {
			s += " " + arg
		}
		msg += "; did you mean " + s + "?"
	}
	return nil, fmt.Errorf("%w %s", ErrUnknown, msg)
}

// Names lists the built-in names (not exec) in a stable order, the default
// (crc32) first. The caller owns the returned slice.
func Names() []string {
	names := make([]string, len(builtins))
	for i := range builtins {
		names[i] = builtins[i].name
	}
	return names
}

// splitSpec splits spec at its first white space into a name and a trimmed
// argument.
func splitSpec(spec string) (name, arg string) {
	i := strings.IndexFunc(spec, unicode.IsSpace)
	if i < 0 {
		return spec, ""
	}
	return spec[:i], strings.TrimSpace(spec[i:])
}

// checkPartitions returns an error when n cannot be a number of partitions.
func checkPartitions(n int) error {
	if n < 1 {
		return fmt.Errorf("%w, got %d", errPartitions, n)
	}
	return nil
}
