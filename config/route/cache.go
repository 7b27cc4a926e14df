package route

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// CacheDirEnv names the environment variable that overrides the default
// directory of the command table cache.
const CacheDirEnv = "TWINE_CACHE_DIR"

// cacheFormat is part of the cache file names; it changes when the file
// layout does, so an old file is never misread.
const cacheFormat = "v1"

// DefaultCacheDir returns $TWINE_CACHE_DIR when set, else "twine" under the
// user's cache directory (os.UserCacheDir: $XDG_CACHE_HOME or
// ~/.cache on Linux). It returns "" when neither can be determined.
func DefaultCacheDir() string {
	if d := os.Getenv(CacheDirEnv); d != "" {
		return d
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "twine")
}

// CacheFile returns the file that caches the command table of a Redis
// version in dir.
func CacheFile(dir, version string) string {
	safe := strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, version)
	return filepath.Join(dir, "commands-"+cacheFormat+"-redis-"+safe+".json")
}

// loadCache reads the table of version from dir. A missing file returns
// an error wrapping fs.ErrNotExist.
func loadCache(dir, version string) (*Table, error) {
	path := CacheFile(dir, version)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var t Table
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("read command cache %s: %w", path, err)
	}
	if t.Version != version || len(t.Commands) == 0 {
		return nil, fmt.Errorf("read command cache %s: not the table of redis %s", path, version)
	}
	return &t, nil
}

// saveCache writes t to dir (creating it), through a temporary file
// renamed into place, so that concurrent readers see a whole table.
func saveCache(dir string, t *Table) error {
	b, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("write command cache: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write command cache: %w", err)
	}
	path := CacheFile(dir, t.Version)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write command cache: %w", err)
	}
	defer os.Remove(f.Name()) // no-op after the rename
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write command cache %s: %w", path, err)
	}
	return nil
}

// isNotExist reports whether err says a file does not exist.
func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
