package config

import (
	"fmt"
	"os"
	"strings"
)

// ReadSecret reads a secret (a password, a token) from the file named by
// the `set` line setting: surrounding white space is dropped, an empty
// file is an error, and path "" means no secret ("", nil). Secrets live in
// their own files so that twine.conf and the generated redis.conf files
// can be readable by more people than the secrets.
func ReadSecret(path, setting string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", setting, err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("read %s: %s is empty", setting, path)
	}
	return s, nil
}

// RedisPassword reads the password every node requires, from the file of
// `set redis-password-file`; "" when none is set.
func (s Settings) RedisPassword() (string, error) {
	return ReadSecret(s.RedisPasswordFile, "redis-password-file")
}
