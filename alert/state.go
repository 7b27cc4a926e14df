package alert

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/twine/twine/supervisor"
)

// StateStore keeps an Alerter's open incidents where the next Alerter
// finds them: a file for a host's (a twined restarted while a node is down
// neither mails it again as new nor forgets its recovery mail), the status
// node for the cluster's (a new alpha continues the incidents of the one
// before). Load returns nil when nothing was saved.
type StateStore interface {
	Load() ([]byte, error)
	Save(b []byte) error
}

// savedIncident is one open incident as a StateStore keeps it.
type savedIncident struct {
	Node      string           `json:"node"`
	Kind      string           `json:"kind,omitempty"`
	Partition int              `json:"partition"`
	Host      string           `json:"host,omitempty"`
	Port      int              `json:"port,omitempty"`
	Role      string           `json:"role,omitempty"`
	State     supervisor.State `json:"state"`
	Start     time.Time        `json:"start"`
	Err       string           `json:"error,omitempty"`
	Mailed    time.Time        `json:"mailed"` // zero: not mailed yet
}

// save returns the open incidents as JSON, in node order.
func (r *rules) save() ([]byte, error) {
	out := []savedIncident{}
	for _, name := range r.order {
		t := r.nodes[name]
		if t == nil || t.inc == nil {
			continue
		}
		s := t.status
		out = append(out, savedIncident{Node: name, Kind: s.Kind, Partition: s.Partition, Host: s.Host, Port: s.Port, Role: s.Role,
			State: s.State, Start: t.inc.start, Err: t.inc.err, Mailed: t.inc.mailed})
	}
	return json.Marshal(out)
}

// load restores incidents saved by an earlier Alerter. A node it names
// keeps its incident (and whether it was mailed) until a snapshot shows it
// up (then its recovery is mailed, if the incident was) or gone.
func (r *rules) load(b []byte) error {
	var in []savedIncident
	if err := json.Unmarshal(b, &in); err != nil {
		return fmt.Errorf("read saved incidents: %w", err)
	}
	for _, s := range in {
		t := r.track(s.Node)
		t.status = supervisor.NodeStatus{Name: s.Node, Kind: s.Kind, Partition: s.Partition, Host: s.Host, Port: s.Port, Role: s.Role,
			State: s.State, Since: s.Start}
		t.known = true
		t.inc = &incident{start: s.Start, err: s.Err, mailed: s.Mailed}
	}
	return nil
}

// FileState keeps incidents in a file, written atomically.
type FileState string

// StateFile returns where a host's open incidents are kept:
// DIR/twined/HOST/incidents.json.
func StateFile(dir, host string) FileState {
	return FileState(filepath.Join(dir, "twined", host, "incidents.json"))
}

// Load implements StateStore.
func (f FileState) Load() ([]byte, error) {
	b, err := os.ReadFile(string(f))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

// Save implements StateStore.
func (f FileState) Save(b []byte) error {
	if old, err := os.ReadFile(string(f)); err == nil && bytes.Equal(old, b) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(string(f)), 0o750); err != nil {
		return err
	}
	tmp := string(f) + ".tmp"
	if err := os.WriteFile(tmp, b, 0o640); err != nil {
		return err
	}
	return os.Rename(tmp, string(f))
}

// sameIncidents reports whether two saved states are equal (to save only
// changes).
func sameIncidents(a, b []byte) bool { return slices.Equal(a, b) }
