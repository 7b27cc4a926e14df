package main

import (
	"fmt"
	"io"

	"github.com/twine/twine/supervisor/setup"
)

// runSetup writes the host's node directories and configs, then exits.
func runSetup(o options, stdout io.Writer) error {
	c, _, err := loadConfig(o.config)
	if err != nil {
		return err
	}
	host, err := resolveHost(c, o.host)
	if err != nil {
		return err
	}
	res, err := setup.Host(c, host)
	if err != nil {
		return err
	}
	changed := 0
	for _, r := range res {
		if r.Changed {
			changed++
			fmt.Fprintf(stdout, "wrote %s\n", r.Files.Conf)
		}
	}
	fmt.Fprintf(stdout, "set up %d nodes of %s under %s/partitions/%s (%d configs written, %d unchanged)\n",
		len(res), host, c.Settings().Dir, host, changed, len(res)-changed)
	return nil
}
