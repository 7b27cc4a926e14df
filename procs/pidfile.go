package procs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// maxPidfileBytes bounds what ReadPidfile reads: a PID and a newline fit
// many times over.
const maxPidfileBytes = 64

// ReadPidfile returns the PID written in the pidfile at path (a decimal
// number, surrounding white space allowed). It returns an error wrapping
// ErrNoPidfile (and so fs.ErrNotExist) if the file does not exist, and one
// wrapping ErrInvalidPidfile, naming the file and quoting its content, if
// it holds anything but a positive PID. ReadPidfile only reads the file;
// whether the PID is alive is the caller's question.
func ReadPidfile(path string) (int, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("read pidfile %s: %w", path, ErrNoPidfile)
	}
	if err != nil {
		return 0, fmt.Errorf("read pidfile: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPidfileBytes+1))
	if err != nil {
		return 0, fmt.Errorf("read pidfile: %w", err)
	}
	if len(b) > maxPidfileBytes {
		return 0, fmt.Errorf("read pidfile %s: %w: more than %d bytes", path, ErrInvalidPidfile, maxPidfileBytes)
	}
	s := strings.TrimSpace(string(b))
	pid, err := strconv.Atoi(s)
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("read pidfile %s: %w: content %q is not a PID", path, ErrInvalidPidfile, s)
	}
	return pid, nil
}
