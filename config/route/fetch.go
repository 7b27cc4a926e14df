package route

import (
	"fmt"
	"strings"
)

// parseCommands reads the reply of COMMAND or COMMAND INFO (RESP2) into
// commands by lower-case name. Null entries (COMMAND INFO of an unknown
// name) are skipped.
func parseCommands(r Reply) (map[string]*Command, error) {
	if r.Kind != Array {
		return nil, fmt.Errorf("read command table: %s reply, want an array", r.Kind)
	}
	out := make(map[string]*Command, len(r.Elems))
	for _, e := range r.Elems {
		if e.Kind == Nil {
			continue
		}
		c, err := parseCommand(e)
		if err != nil {
			return nil, fmt.Errorf("read command table: %w", err)
		}
		out[c.Name] = c
	}
	return out, nil
}

// parseCommand reads one entry of COMMAND: name, arity, flags, first key,
// last key, step, ACL categories (Redis 6+), tips, key specs and
// subcommands (Redis 7+).
func parseCommand(r Reply) (*Command, error) {
	if r.Kind != Array || len(r.Elems) < 6 {
		return nil, fmt.Errorf("command entry: %s, want an array of at least 6", r)
	}
	e := r.Elems
	c := &Command{Name: strings.ToLower(string(e[0].Str))}
	if c.Name == "" {
		return nil, fmt.Errorf("command entry without a name")
	}
	ints := []*int{&c.Arity, nil, &c.FirstKey, &c.LastKey, &c.Step}
	for i, p := range ints {
		if p == nil {
			continue
		}
		if e[i+1].Kind != Int {
			return nil, fmt.Errorf("command %s: field %d is %s, want an integer", c.Name, i+2, e[i+1].Kind)
		}
		*p = int(e[i+1].Int)
	}
	c.Flags = stringsOf(e[2])
	if len(e) > 8 {
		for _, s := range e[8].Elems {
			ks, err := parseKeySpec(s)
			if err != nil {
				return nil, fmt.Errorf("command %s: key spec: %w", c.Name, err)
			}
			c.KeySpecs = append(c.KeySpecs, ks)
		}
	}
	if len(e) > 9 && len(e[9].Elems) > 0 {
		c.Subcommands = make(map[string]*Command, len(e[9].Elems))
		for _, s := range e[9].Elems {
			sub, err := parseCommand(s)
			if err != nil {
				return nil, fmt.Errorf("command %s: %w", c.Name, err)
			}
			_, name, _ := strings.Cut(sub.Name, "|")
			c.Subcommands[name] = sub
		}
	}
	return c, nil
}

// parseKeySpec reads one key spec, a flat array of name, value pairs.
func parseKeySpec(r Reply) (KeySpec, error) {
	var ks KeySpec
	m, err := pairs(r)
	if err != nil {
		return ks, err
	}
	ks.Flags = stringsOf(m["flags"])
	bs, err := pairs(m["begin_search"])
	if err != nil {
		return ks, fmt.Errorf("begin_search: %w", err)
	}
	ks.BeginSearch.Type = string(bs["type"].Str)
	spec, _ := pairs(bs["spec"])
	switch ks.BeginSearch.Type {
	case "index":
		ks.BeginSearch.Index = int(spec["index"].Int)
	case "keyword":
		ks.BeginSearch.Keyword = string(spec["keyword"].Str)
		ks.BeginSearch.StartFrom = int(spec["startfrom"].Int)
	default:
		ks.BeginSearch.Type = "unknown"
	}
	fk, err := pairs(m["find_keys"])
	if err != nil {
		return ks, fmt.Errorf("find_keys: %w", err)
	}
	ks.FindKeys.Type = string(fk["type"].Str)
	spec, _ = pairs(fk["spec"])
	switch ks.FindKeys.Type {
	case "range":
		ks.FindKeys.LastKey = int(spec["lastkey"].Int)
		ks.FindKeys.KeyStep = int(spec["keystep"].Int)
		ks.FindKeys.Limit = int(spec["limit"].Int)
	case "keynum":
		ks.FindKeys.KeyNumIdx = int(spec["keynumidx"].Int)
		ks.FindKeys.FirstKey = int(spec["firstkey"].Int)
		ks.FindKeys.KeyStep = int(spec["keystep"].Int)
	default:
		ks.FindKeys.Type = "unknown"
	}
	return ks, nil
}

// pairs reads a flat array (RESP2) or map (RESP3) of name, value pairs.
func pairs(r Reply) (map[string]Reply, error) {
	if r.Kind != Array && r.Kind != Map {
		return nil, fmt.Errorf("%s, want name-value pairs", r)
	}
	if len(r.Elems)%2 != 0 {
		return nil, fmt.Errorf("odd number of elements (%d) in name-value pairs", len(r.Elems))
	}
	m := make(map[string]Reply, len(r.Elems)/2)
	for i := 0; i < len(r.Elems); i += 2 {
		m[string(r.Elems[i].Str)] = r.Elems[i+1]
	}
	return m, nil
}

// stringsOf returns the string elements of an array reply.
func stringsOf(r Reply) []string {
	var out []string
	for _, e := range r.Elems {
		out = append(out, string(e.Str))
	}
	return out
}
