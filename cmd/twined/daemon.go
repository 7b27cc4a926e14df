package main

import (
	"context"
	"errors"
	"io"
)

func runDaemon(ctx context.Context, o options, stdout, stderr io.Writer) error {
	return errors.New("not yet")
}
