package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twine/twine/cmd/internal/mainutil"

	"github.com/twine/twine/config/route"
	"github.com/twine/twine/config/route/routetest"
)

// mainEnv makes the test binary run twine's main instead of the tests,
// for tests that need a real process (terminals, exit codes).
const mainEnv = "TWINE_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) == "1" {
		main()
		return
	}
	mainutil.QuietRedis()
	// The machine's own /etc/twine/twine.conf must not leak into tests.
	dir, err := os.MkdirTemp("", "twine-test")
	if err != nil {
		panic(err)
	}
	defaultConfig = filepath.Join(dir, "no-such-twine.conf")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is what one twine run printed and its exit code.
type result struct {
	stdout, stderr string
	code           int
}

// twine runs the CLI in process with stdin, as main does, and returns
// what it printed. stdin and stdout are not terminals: output is raw
// unless -no-raw is given.
func twine(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	err := run(ctx, args, strings.NewReader(stdin), &out, &errb)
	code := mainutil.ExitCode("twine", err, &errb)
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

// ok runs twine and fails the test unless it exits 0.
func ok(t *testing.T, args ...string) string {
	t.Helper()
	r := twine(t, "", args...)
	if r.code != 0 {
		t.Fatalf("twine %s: exit %d, stderr %q, stdout %q", strings.Join(args, " "), r.code, r.stderr, r.stdout)
	}
	return r.stdout
}

// startCluster starts a test cluster, points $TWINE_CONFIG at it and the
// command table cache at a temporary directory.
func startCluster(t *testing.T, o routetest.Options) *routetest.Cluster {
	t.Helper()
	c := routetest.Start(t, o)
	t.Setenv(ConfigEnv, c.Path)
	t.Setenv(route.CacheDirEnv, t.TempDir())
	return c
}

// want fails the test unless got contains every one of wants.
func want(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s %q lacks %q", what, got, w)
		}
	}
}
