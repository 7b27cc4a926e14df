package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/twine/twine/alert"
)

// runTestAlert sends one test mail with the config's mail settings and
// prints the SMTP server's answer; a failure (connection refused, TLS
// required, authentication failed...) exits 1 with the reason.
func runTestAlert(ctx context.Context, o options, stdout io.Writer) error {
	c, _, err := loadConfig(o.config)
	if err != nil {
		return err
	}
	host, err := resolveHost(c, o.host)
	if err != nil {
		host, _ = os.Hostname() // a test mail needs a name, not a host of the file
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	s := c.Settings()
	answer, err := alert.SendTest(ctx, s, host)
	if err != nil {
		return fmt.Errorf("test alert via %s: %w", s.MailServer, err)
	}
	fmt.Fprintf(stdout, "test alert sent via %s to %d recipient(s); the server answered: %s\n", s.MailServer, len(s.Alerts), answer)
	return nil
}
