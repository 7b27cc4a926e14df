// Package procs handles one OS process at a time: it spawns a child in its
// own process group, adopts a process that is already running (a node left
// behind by an earlier twined) through a pidfd, signals it, and reports its
// exit on a channel the moment it happens, without polling.
//
// procs never decides when to start, stop or restart anything; that policy
// belongs to the caller. A Process is safe for concurrent use by several
// goroutines.
//
// Linux only: it relies on pidfds (Linux 5.3+) and process groups.
package procs
