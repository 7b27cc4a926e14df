package supervisor

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/twine/twine/procs"
)

// portCheckEvery is how often the port of a node that could not bind it
// is looked at: the node starts within about this long of the port
// freeing, whatever its backoff.
const portCheckEvery = time.Second

// inUse is what redis-server logs when its port is taken.
const inUse = "Address already in use"

// notePortInUse recognises an exit caused by a port in use (in errStr or
// the log tail): it arms the port watch and adds who holds the port, when
// /proc tells.
func (w *watcher) notePortInUse(errStr string, tail []string) string {
	if !strings.Contains(errStr, inUse) && !strings.Contains(strings.Join(tail, "\n"), inUse) {
		return errStr
	}
	w.portWait = true
	w.portCheckAt = w.env.now().Add(portCheckEvery)
	if pid, name := procs.PortHolder(w.node.Port); pid > 0 {
		errStr += fmt.Sprintf("; port %d is held by pid %d (%s)", w.node.Port, pid, name)
	}
	return errStr
}

// checkPort starts the node at once when its port has freed, and looks
// again a second later otherwise. The look is a bind of the node's
// address, closed at once.
func (w *watcher) checkPort() {
	l, err := net.Listen("tcp", w.node.Addr())
	if err != nil {
		w.portCheckAt = w.env.now().Add(portCheckEvery)
		return
	}
	l.Close()
	w.log.Info("port free again; starting the node now", "addr", w.node.Addr())
	w.start()
}
