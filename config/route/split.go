package route

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// splitRule says how a multi-key command is split per partition and how
// the answers are merged.
type splitRule struct {
	// group is the number of arguments that go with each key: 2 for MSET
	// (key value), 1 for the others.
	group int
	// merge combines the replies of the parts; idx[i] lists the key
	// indexes sent in part i, nkeys is the number of keys.
	merge func(replies []Reply, idx [][]int, nkeys int) (Reply, error)
}

// splitRules are the commands Do splits across partitions.
var splitRules = map[string]splitRule{
	"mget":   {group: 1, merge: mergeValues},
	"mset":   {group: 2, merge: mergeOK},
	"del":    {group: 1, merge: mergeSum},
	"unlink": {group: 1, merge: mergeSum},
	"exists": {group: 1, merge: mergeSum},
	"touch":  {group: 1, merge: mergeSum},
}

// fits reports whether the key positions are exactly 1, 1+group, ... with
// group arguments after the last one, the shape the rule splits.
func (s splitRule) fits(pos []int, argc int) bool {
	if len(pos) == 0 || 1+len(pos)*s.group != argc {
		return false
	}
	for i, p := range pos {
		if p != 1+i*s.group {
			return false
		}
	}
	return true
}

// split runs a command whose keys span partitions as one command per
// partition, in parallel, and merges the replies. The first error reply
// (in partition order) is the answer when a part fails in Redis.
func (r *Router) split(ctx context.Context, rt *Route, args [][]byte) (Reply, error) {
	rule := splitRules[rt.Command.Name]
	byPart := make(map[int][]int)
	for i, p := range rt.Parts {
		byPart[p] = append(byPart[p], i)
	}
	parts := slices.Sorted(func(yield func(int) bool) {
		for p := range byPart {
			if !yield(p) {
				return
			}
		}
	})
	idx := make([][]int, len(parts))
	replies := make([]Reply, len(parts))
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i, p := range parts {
		idx[i] = byPart[p]
		sub := make([][]byte, 0, 1+len(idx[i])*rule.group)
		sub = append(sub, args[0])
		for _, k := range idx[i] {
			at := rt.Pos[k]
			sub = append(sub, args[at:at+rule.group]...)
		}
		wg.Go(func() {
			replies[i], errs[i] = r.doMaster(ctx, p, rt.Command, sub)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return Reply{}, err
		}
	}
	for _, rep := range replies {
		if rep.Kind == Error {
			return rep, nil
		}
	}
	return rule.merge(replies, idx, len(rt.Keys))
}

// mergeValues puts each part's array of values back in key order (MGET).
func mergeValues(replies []Reply, idx [][]int, nkeys int) (Reply, error) {
	out := make([]Reply, nkeys)
	for i, rep := range replies {
		if rep.Kind != Array || len(rep.Elems) != len(idx[i]) {
			return Reply{}, fmt.Errorf("merge replies: part %d answered %s for %d keys", i, rep, len(idx[i]))
		}
		for j, k := range idx[i] {
			out[k] = rep.Elems[j]
		}
	}
	return Reply{Kind: Array, Elems: out}, nil
}

// mergeSum adds the parts' integers (DEL, EXISTS...).
func mergeSum(replies []Reply, _ [][]int, _ int) (Reply, error) {
	var sum int64
	for i, rep := range replies {
		if rep.Kind != Int {
			return Reply{}, fmt.Errorf("merge replies: part %d answered %s, want an integer", i, rep)
		}
		sum += rep.Int
	}
	return IntReply(sum), nil
}

// mergeOK answers the first part's status when every part answered one
// (MSET).
func mergeOK(replies []Reply, _ [][]int, _ int) (Reply, error) {
	for i, rep := range replies {
		if rep.Kind != Status {
			return Reply{}, fmt.Errorf("merge replies: part %d answered %s, want a status", i, rep)
		}
	}
	return replies[0], nil
}
