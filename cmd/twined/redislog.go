package main

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// quietRedis drops go-redis's own log lines (a refused dial while a node
// starts is expected); twined reports node health through its own logger.
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

// silenceRedisLog installs quietRedis as go-redis's process-wide logger.
func silenceRedisLog() { redis.SetLogger(quietRedis{}) }
