package hash

import "testing"

func TestTag(t *testing.T) {
	tests := []struct{ key, want string }{
		// The examples of the Redis Cluster specification.
		{"{user1000}.following", "user1000"},
		{"{user1000}.followers", "user1000"},
		{"foo{}{bar}", "foo{}{bar}"},
		{"foo{{bar}}zap", "{bar"},
		{"foo{bar}{zap}", "bar"},
		// Edge cases.
		{"", ""},
		{"plain", "plain"},
		{"{}", "{}"},
		{"{", "{"},
		{"}", "}"},
		{"}{a}", "a"},
		{"{a", "{a"},
		{"a}b{", "a}b{"},
		{"x{y}", "y"},
		{"{{}}", "{"},
	}
	for _, tt := range tests {
		if got := string(Tag([]byte(tt.key))); got != tt.want {
			t.Errorf("Tag(%q) = %q, want %q", tt.key, got, tt.want)
		}
		if got := string(Tag(Tag([]byte(tt.key)))); got != tt.want {
			t.Errorf("Tag(Tag(%q)) = %q, want %q", tt.key, got, tt.want)
		}
	}
}

func TestPartitionUsesTag(t *testing.T) {
	for i := range builtins {
		b := &builtins[i]
		for _, n := range []int{2, 7, 64, 1 << 20} {
			want := int(b.sum([]byte("user1000")) % uint64(n))
			for _, k := range []string{"{user1000}.following", "{user1000}.followers", "user1000"} {
				if got, _ := b.Partition([]byte(k), n); got != want {
					t.Errorf("%s: Partition(%q, %d) = %d, want %d (hash of user1000)", b.name, k, n, got, want)
				}
			}
			for key, hashed := range map[string]string{
				"foo{}{bar}":    "foo{}{bar}",
				"foo{{bar}}zap": "{bar",
				"foo{bar}{zap}": "bar",
			} {
				want := int(b.sum([]byte(hashed)) % uint64(n))
				if got, _ := b.Partition([]byte(key), n); got != want {
					t.Errorf("%s: Partition(%q, %d) = %d, want %d (hash of %q)", b.name, key, n, got, want, hashed)
				}
			}
		}
	}
}
