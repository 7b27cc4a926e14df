package route

import (
	"context"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"
)

// discard drops go-redis's own log lines (a dial failure to a node a test
// killed is expected).
type discard struct{}

func (discard) Printf(context.Context, string, ...any) {}

func TestMain(m *testing.M) {
	redis.SetLogger(discard{})
	os.Exit(m.Run())
}
