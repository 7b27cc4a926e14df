package replset

import (
	"reflect"
	"testing"
)

func TestParseRole(t *testing.T) {
	tests := []struct {
		in   []any
		want NodeRole
		bad  bool
	}{
		{in: []any{"master", int64(3129659), []any{[]any{"127.0.0.1", "9001", "3129242"}, []any{"10.0.0.2", "9002", "3129543"}}},
			want: NodeRole{Role: "master", Offset: 3129659, Replicas: []ReplicaOffset{{"127.0.0.1:9001", 3129242}, {"10.0.0.2:9002", 3129543}}}},
		{in: []any{"master", int64(0), []any{}}, want: NodeRole{Role: "master"}},
		{in: []any{"slave", "127.0.0.1", int64(9000), "connected", int64(3167038)},
			want: NodeRole{Role: "replica", Upstream: "127.0.0.1:9000", State: "connected", Offset: 3167038}},
		{in: []any{"slave", "::1", int64(9000), "connect", int64(-1)},
			want: NodeRole{Role: "replica", Upstream: "[::1]:9000", State: "connect", Offset: -1}},
		{in: []any{"sentinel", []any{"twine-0"}}, want: NodeRole{Role: "sentinel"}},
		{in: []any{"slave", "127.0.0.1"}, bad: true},
		{in: []any{"primary"}, bad: true},
		{in: []any{}, bad: true},
	}
	for _, tt := range tests {
		got, err := parseRole(tt.in)
		if (err != nil) != tt.bad {
			t.Errorf("parseRole(%v) error %v, want error %v", tt.in, err, tt.bad)
			continue
		}
		if !tt.bad && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseRole(%v) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestAggregatePrefersTheHighestEpoch(t *testing.T) {
	v := aggregate([]Opinion{
		{Sentinel: "local", Addr: "a:1", Epoch: 3},
		{Sentinel: "b", Addr: "b:1", Epoch: 4},
		{Sentinel: "c", Addr: "b:1", Epoch: 4},
	})
	if v.Addr != "b:1" || v.Agree != 2 || v.Answered != 3 || !v.Majority() {
		t.Errorf("view %+v: want b:1 agreed by 2 of 3", v)
	}
	v = aggregate([]Opinion{{Sentinel: "local", Addr: "a:1", Epoch: 4}, {Sentinel: "b", Addr: "b:1", Epoch: 4}, {Sentinel: "c", Err: errTest}})
	if v.Addr != "a:1" || v.Majority() {
		t.Errorf("tie: view %+v, want the local a:1 without a majority", v)
	}
	if !ownName("twine-12", []string{"twine"}) || !ownName("twine-status", []string{"x", "twine"}) || ownName("twine-a", []string{"twine"}) || ownName("other-1", []string{"twine"}) {
		t.Error("ownName misjudges master names")
	}
}

var errTest = errorString("no answer")

type errorString string

func (e errorString) Error() string { return string(e) }
