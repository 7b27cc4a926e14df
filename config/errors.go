package config

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// ErrInvalid is wrapped by every error that Parse and Load return for a file
// that was read but is not a valid twine.conf; callers branch on it with
// errors.Is to tell a bad file from an unreadable one.
var ErrInvalid = errors.New("invalid config")

// ErrUnknownHost is wrapped by ResolveHost when the requested host is not
// named by any node of the cluster.
var ErrUnknownHost = errors.New("unknown host")

// maxErrors bounds how many errors one file reports; past it the list ends
// with a count of the rest, so a binary file cannot flood the terminal.
const maxErrors = 50

// Error is one problem in a config file, at a line (Line 0 when it concerns
// the file as a whole).
type Error struct {
	File string
	Line int
	Msg  string
	Err  error // an underlying cause, if any
}

// Error formats the problem as "FILE:LINE: message".
func (e *Error) Error() string {
	if e.Line == 0 {
		return e.File + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// Unwrap returns the underlying cause, or ErrInvalid.
func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrInvalid, e.Err}
	}
	return []error{ErrInvalid}
}

// ErrorList is every problem found in one file, in line order. Parse returns
// it whole so that an operator fixes a file in one pass.
type ErrorList struct {
	Errors  []*Error
	Omitted int // errors past the reporting bound, not listed
}

// Error joins the problems, one per line.
func (l *ErrorList) Error() string {
	var b strings.Builder
	for i, e := range l.Errors {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	if l.Omitted > 0 {
		plural := "s"
		if l.Omitted == 1 {
			plural = ""
		}
		fmt.Fprintf(&b, "\n... and %d more error%s", l.Omitted, plural)
	}
	return b.String()
}

// Unwrap returns the individual errors, so errors.Is and errors.As see them.
func (l *ErrorList) Unwrap() []error {
	errs := make([]error, len(l.Errors))
	for i, e := range l.Errors {
		errs[i] = e
	}
	return errs
}

// errorSink collects errors for one file.
type errorSink struct {
	file string
	list ErrorList
}

func (s *errorSink) add(line int, cause error, format string, args ...any) {
	if len(s.list.Errors) >= maxErrors {
		s.list.Omitted++
		return
	}
	s.list.Errors = append(s.list.Errors, &Error{File: s.file, Line: line, Msg: fmt.Sprintf(format, args...), Err: cause})
}

func (s *errorSink) addf(line int, format string, args ...any) {
	s.add(line, nil, format, args...)
}

func (s *errorSink) err() error {
	if len(s.list.Errors) == 0 {
		return nil
	}
	l := s.list
	l.Errors = slices.Clone(l.Errors)
	// File-wide problems (line 0) come after the line-by-line ones.
	slices.SortStableFunc(l.Errors, func(a, b *Error) int {
		return cmp.Compare(sortLine(a.Line), sortLine(b.Line))
	})
	return &l
}

func sortLine(n int) int {
	if n == 0 {
		return math.MaxInt
	}
	return n
}
