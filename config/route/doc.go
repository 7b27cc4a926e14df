// Package route runs Redis commands on the partition of a Twine cluster
// that owns their keys.
//
// A Router reads the nodes and the hash function of a config.Cluster. For
// each command it finds the key arguments from Redis's own command table
// (COMMAND key specs, fetched from a live node and cached on disk per Redis
// version, see Table), hashes them with the cluster's function and {hash
// tag} rule, and sends the command over go-redis to the master of the
// owning partition. MGET, MSET, DEL, UNLINK, EXISTS and TOUCH whose keys
// span partitions are split per partition, sent in parallel and merged; any
// other command whose keys span partitions is refused before anything is
// sent (ErrCrossPartition). A Pipe sends a stream of commands pipelined per
// partition.
//
// Replies are returned as typed Reply values read from the raw RESP bytes,
// so a status reply ("OK") stays distinct from a bulk string ("OK").
//
// Unlike its parent package, route does network I/O (to the cluster's
// nodes) and file I/O (its command table cache).
package route
