package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/twine/twine/config"
)

// confName is the file name the in-memory configs are parsed under, so that
// error strings read "twine.conf:LINE: ...".
const confName = "twine.conf"

// fixturePath is the original Twine's 64-partition config, shared by the
// tests of this package (a copy lives in each package that needs it).
const fixturePath = "testdata/original-64.twine.conf"

// lines joins config lines with newlines.
func lines(ls ...string) string { return strings.Join(ls, "\n") + "\n" }

// mustParse parses text under confName and fails the test on any error.
func mustParse(t testing.TB, text string) *config.Cluster {
	t.Helper()
	c, err := config.Parse(confName, []byte(text))
	if err != nil {
		t.Fatalf("Parse:\n%s\nerror:\n%v", text, err)
	}
	return c
}

// mustParseIn parses text as the file twine.conf of a fresh temporary
// directory, which it returns.
func mustParseIn(t testing.TB, text string) (*config.Cluster, string) {
	t.Helper()
	dir := t.TempDir()
	c, err := config.Parse(filepath.Join(dir, confName), []byte(text))
	if err != nil {
		t.Fatalf("Parse:\n%s\nerror:\n%v", text, err)
	}
	return c, dir
}

// parseErrors parses text under confName, requires it to fail, and returns
// the error strings of the list.
func parseErrors(t testing.TB, text string) []string {
	t.Helper()
	c, err := config.Parse(confName, []byte(text))
	if err == nil {
		t.Fatalf("Parse:\n%s\nsucceeded with %d nodes, want an error", text, len(c.Nodes()))
	}
	list := errorList(t, err)
	var out []string
	for _, e := range list.Errors {
		out = append(out, e.Error())
	}
	return out
}

// errorList checks the shape every Parse error has and returns the list.
func errorList(t testing.TB, err error) *config.ErrorList {
	t.Helper()
	if !errors.Is(err, config.ErrInvalid) {
		t.Errorf("errors.Is(err, ErrInvalid) = false for %v", err)
	}
	var list *config.ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error is %T, want *config.ErrorList: %v", err, err)
	}
	if len(list.Errors) == 0 {
		t.Fatalf("ErrorList has no errors: %v", err)
	}
	return list
}

// sameStrings reports a difference between two lists of strings.
func sameStrings(t testing.TB, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got: %q\nwant: %q", what, got, want)
	}
}

// readFixture returns the original 64-partition config, failing the test
// with an explanation when the shared fixture is not there.
func readFixture(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile(fixturePath)
	if err != nil {
		t.Fatalf("read the shared fixture (expected at %s, relative to config/): %v", fixturePath, err)
	}
	return data
}

// writeFile writes data to name in dir with the given mode and returns its
// path.
func writeFile(t testing.TB, dir, name, data string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	return path
}

// errorStrings returns the strings of an *ErrorList's errors.
func errorStrings(err error) []string {
	var list *config.ErrorList
	if !errors.As(err, &list) {
		return []string{"not an *ErrorList: " + err.Error()}
	}
	var out []string
	for _, e := range list.Errors {
		out = append(out, e.Error())
	}
	return out
}
