package ratelimit

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisConfig is a plugin's config.redis record (Kong's shared redis
// schema, kong/tools/redis/schema.lua).
type RedisConfig struct {
	Host               string
	Port               int
	Username, Password string
	Database           int
	// Timeout bounds connecting, each write and each read.
	Timeout time.Duration
	// SSL connects with TLS; SSLVerify checks the server's certificate
	// (against the system's roots) for ServerName, or Host when empty.
	SSL, SSLVerify bool
	ServerName     string
}

// Clients are a node's Redis clients, one per distinct RedisConfig: every
// plugin instance configured with the same server, database and
// credentials shares its connection pool, across configuration rebuilds.
type Clients struct {
	mu      sync.Mutex
	clients map[RedisConfig]*redis.Client
	syncers map[RedisConfig]*Syncer
}

// NewClients returns an empty set of clients.
func NewClients() *Clients {
	quietOnce.Do(func() { redis.SetLogger(quiet{}) })
	return &Clients{clients: map[RedisConfig]*redis.Client{}}
}

// quiet keeps go-redis from writing to the process's standard error: the
// errors it would report come back from the commands, and the plugins log
// them in the node's error log.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

var quietOnce sync.Once

// Client returns the client for c, made on first use (no connection is
// opened until a command is sent).
func (cs *Clients) Client(c RedisConfig) *redis.Client {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cl := cs.clients[c]; cl != nil {
		return cl
	}
	opts := &redis.Options{
		Addr:         net.JoinHostPort(c.Host, strconv.Itoa(c.Port)),
		Username:     c.Username,
		Password:     c.Password,
		DB:           c.Database,
		DialTimeout:  c.Timeout,
		ReadTimeout:  c.Timeout,
		WriteTimeout: c.Timeout,
		// A counter must not be incremented twice by a retried pipeline.
		MaxRetries: -1,
		// One connection attempt per command, bounded by Timeout, as Kong
		// makes: a Redis that is down fails the request fast.
		DialerRetries: 1,
		// RESP2 and no CLIENT SETINFO: any Redis Kong works with.
		Protocol:        2,
		DisableIdentity: true,
	}
	if c.SSL {
		name := c.ServerName
		if name == "" {
			name = c.Host
		}
		opts.TLSConfig = &tls.Config{ServerName: name, InsecureSkipVerify: !c.SSLVerify, MinVersion: tls.VersionTLS12}
	}
	cl := redis.NewClient(opts)
	cs.clients[c] = cl
	return cl
}

// Close closes every client.
func (cs *Clients) Close() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for k, cl := range cs.clients {
		cl.Close()
		delete(cs.clients, k)
	}
}

// IncrBy adds delta to each key in one pipelined round trip and returns
// the new values. A key that did not exist is created with its ttl
// (seconds), as Kong's scripts expire a counter when they create it.
func IncrBy(ctx context.Context, cl *redis.Client, keys []string, ttls []int64, delta int64) ([]int64, error) {
	pipe := cl.Pipeline()
	incrs := make([]*redis.IntCmd, len(keys))
	for i, k := range keys {
		pipe.SetNX(ctx, k, 0, time.Duration(ttls[i])*time.Second)
		incrs[i] = pipe.IncrBy(ctx, k, delta)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("incrementing counters in redis: %w", err)
	}
	out := make([]int64, len(keys))
	for i, c := range incrs {
		out[i] = c.Val()
	}
	return out, nil
}

// Get reads keys in one round trip; a missing key counts 0.
func Get(ctx context.Context, cl *redis.Client, keys []string) ([]int64, error) {
	vals, err := cl.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("reading counters from redis: %w", err)
	}
	out := make([]int64, len(keys))
	for i, v := range vals {
		if s, ok := v.(string); ok {
			out[i], _ = strconv.ParseInt(s, 10, 64)
		}
	}
	return out, nil
}

// IncrEach adds deltas[i] to keys[i] in one pipelined round trip, creating
// missing keys with their ttl (seconds).
func IncrEach(ctx context.Context, cl *redis.Client, keys []string, ttls, deltas []int64) error {
	pipe := cl.Pipeline()
	for i, k := range keys {
		pipe.SetNX(ctx, k, 0, time.Duration(ttls[i])*time.Second)
		pipe.IncrBy(ctx, k, deltas[i])
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("incrementing counters in redis: %w", err)
	}
	return nil
}
