package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/twine/twine/config"
)

func TestResolveHost(t *testing.T) {
	multi := mustParse(t, lines(
		"a0=data 0 web1 4200 0",
		"a1=data 1 web2 4200 0",
		"a2=data 2 db3.example.com 4200 0",
	))
	single := mustParse(t, lines("a0=data 0 127.0.0.1 4200 0", "a1=data 1 127.0.0.1 4201 0"))
	tests := []struct {
		name           string
		c              *config.Cluster
		flag, hostname string
		want           string
	}{
		{"flag", multi, "web2", "web1", "web2"},
		{"flag FQDN host", multi, "db3.example.com", "", "db3.example.com"},
		{"flag on a single host", single, "127.0.0.1", "box", "127.0.0.1"},
		{"hostname", multi, "", "web2", "web2"},
		{"FQDN first label", multi, "", "web1.example.com", "web1"},
		{"FQDN exact", multi, "", "db3.example.com", "db3.example.com"},
		{"single host fallback", single, "", "box.example.com", "127.0.0.1"},
		{"single host without hostname", single, "", "", "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.c.ResolveHost(tt.flag, tt.hostname)
			if err != nil || got != tt.want {
				t.Errorf("ResolveHost(%q, %q) = %q, %v; want %q", tt.flag, tt.hostname, got, err, tt.want)
			}
		})
	}

	bad := []struct {
		name           string
		c              *config.Cluster
		flag, hostname string
		want           string
	}{
		{"unknown flag", multi, "web9", "web1",
			"-host web9: unknown host: " + multi.File() + " names no node on it (hosts: web1, web2, db3.example.com)"},
		{"flag is only a first label", multi, "db3", "",
			"-host db3: unknown host: " + multi.File() + " names no node on it (hosts: web1, web2, db3.example.com)"},
		{"unknown flag on a single host", single, "localhost", "box",
			"-host localhost: unknown host: " + single.File() + " names no node on it (hosts: 127.0.0.1)"},
		{"no match among several", multi, "", "web9.example.com",
			`unknown host: this machine's hostname "web9.example.com" is not a host of ` + multi.File() + "; choose one with -host (hosts: web1, web2, db3.example.com)"},
		{"no hostname among several", multi, "", "",
			`unknown host: this machine's hostname "" is not a host of ` + multi.File() + "; choose one with -host (hosts: web1, web2, db3.example.com)"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.c.ResolveHost(tt.flag, tt.hostname)
			if err == nil {
				t.Fatalf("ResolveHost(%q, %q) = %q, want an error", tt.flag, tt.hostname, got)
			}
			if !errors.Is(err, config.ErrUnknownHost) {
				t.Errorf("error %v does not wrap ErrUnknownHost", err)
			}
			if errors.Is(err, config.ErrInvalid) {
				t.Errorf("error %v wraps ErrInvalid, but the file is valid", err)
			}
			if err.Error() != tt.want {
				t.Errorf("error =\n%s\nwant\n%s", err, tt.want)
			}
			if !strings.Contains(err.Error(), "(hosts: ") {
				t.Errorf("error %v does not list the hosts", err)
			}
		})
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "127.0.0.1": true, "127.1.2.3": true, "::1": true, "": true,
		"web1": false, "10.0.0.1": false, "0.0.0.0": false, "::": false, "localhost.example.com": false,
	} {
		if got := config.IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}
