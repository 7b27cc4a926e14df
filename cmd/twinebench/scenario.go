package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// scenario is one measurement the bench makes.
type scenario struct {
	Name  string
	Title string // the table's heading
	Nodes int    // default cluster size
	// Trials returns the default number of trials for n nodes.
	Trials func(b *bench, n int) int
	// Direct scenarios run redis-server without any supervisor.
	Direct bool
	// Supervisors, when set, are the rows the scenario measures whatever
	// -supervisor says: a name of systemNames runs under that supervisor,
	// any other name (a peer such as plain Redis Sentinel) runs with sys
	// nil, no supervisor, as the scenario itself sets it up.
	Supervisors []string
	// FixedNodes means Nodes is the scenario's own shape: -n does not
	// change it.
	FixedNodes bool
	// Run measures sys (nil when Direct, or for a peer of Supervisors) on
	// base.Nodes nodes. It returns
	// copies of base (scenario, supervisor, nodes and load filled in) with
	// Metric, Unit, Samples, Limit and Target set, even when it fails part
	// way.
	Run func(ctx context.Context, b *bench, sys system, base result, trials int) ([]result, error)
}

// scenarios in the order -scenario all runs them.
var scenarios = []scenario{floorScenario, killScenario, sigstopScenario, portFreeScenario, startFloorScenario, coldstartScenario,
	pingFloorScenario, idleScenario, failoverScenario, hostlostScenario, clusterScenario, backupScenario}

// parseScenarios parses -scenario: a comma-separated list of names, or
// "all".
func parseScenarios(s string) ([]scenario, error) {
	if s == "all" {
		return scenarios, nil
	}
	var names []string
	for _, sc := range scenarios {
		names = append(names, sc.Name)
	}
	var out []scenario
	for _, name := range strings.Split(s, ",") {
		i := slices.Index(names, strings.TrimSpace(name))
		if i < 0 {
			return nil, fmt.Errorf("-scenario %q: want %s, a comma-separated list of them, or all", name, strings.Join(names, ", "))
		}
		out = append(out, scenarios[i])
	}
	return out, nil
}

// systems returns the rows the scenario measures: its own Supervisors,
// else those of -supervisor.
func (sc scenario) systems(flag []string) []string {
	if sc.Supervisors != nil {
		return sc.Supervisors
	}
	return flag
}

// fixed returns a Trials function with a constant default.
func fixed(n int) func(*bench, int) int { return func(*bench, int) int { return n } }
