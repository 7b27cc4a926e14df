package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/twine/twine/config"
	"github.com/twine/twine/config/route"
	"github.com/twine/twine/config/route/routetest"
	"github.com/twine/twine/procs/redistest"
)

// BenchmarkPipe16 measures pipelined bulk traffic over 16 partitions: N
// SETs of small keys followed by N GETs of them (N = $TWINE_BENCH_KEYS,
// default 1000000), each variant starting from empty nodes:
//
//   - twine-pipe: `twine -pipe`, a separate process, reading the commands
//     as text from a file and routing them itself to the 16 nodes;
//   - twine-pipe-resp: the same, the file in the Redis protocol (RESP),
//     as the Redis mass-insertion docs generate it;
//   - route-pipe-direct: route.Pipe in this process, commands built in
//     memory, routed by twine's routing to the 16 nodes;
//   - route-pipe-via-twemproxy: the same route.Pipe sending every command
//     unrouted to twemproxy (nutcracker), which routes them: the proxy hop
//     instead of client-side routing, all else equal;
//   - go-redis-direct: plain go-redis pipelines (batches of 1000, one
//     connection per node) straight to each key's node, the partitions
//     computed before the clock starts;
//   - go-redis-via-twemproxy-1x1000 and -16x100: the same go-redis code
//     sending to twemproxy over 1 connection in batches of 1000, and over
//     16 connections in batches of 100 (twemproxy slows down with 16 deep
//     pipelines; these are its two best shapes here).
//
// twemproxy runs on loopback in front of the same 16 nodes with hash
// crc32a (which is twine's default crc32), distribution modula and
// hash_tag "{}"; the benchmark first checks that it places keys where
// twine does. twemproxy closes connections that send HELLO, which go-redis
// sends first, so the in-process clients reach it through helloShim.
//
// One op is one whole run: read cmds/s. client-cpu-s, proxy-cpu-s and
// redis-cpu-s are the CPU seconds used by the client (twine, or this
// process), nutcracker and the 16 redis-servers together. Run:
//
//	go test -run '^$' -bench Pipe16 -benchtime 1x -count 3 ./cmd/twine
func BenchmarkPipe16(b *testing.B) {
	const parts = 16
	n := benchKeys(b)
	cl := routetest.Start(b, routetest.Options{Partitions: parts})
	proxy := startTwemproxy(b, cl)
	dir := b.TempDir()
	input := filepath.Join(dir, "commands.txt")
	writeCommands(b, input, n, false)
	inputRESP := filepath.Join(dir, "commands.resp")
	writeCommands(b, inputRESP, n, true)
	cache := filepath.Join(dir, "cache")
	// A cluster of one node, twemproxy, for route.Pipe.
	proxyConf := filepath.Join(dir, "proxy.conf")
	os.WriteFile(proxyConf, []byte(fmt.Sprintf("proxy=data 0 127.0.0.1 %d 0\n", proxy.port)), 0o644)
	checkPlacement(b, cl, proxy.addr)

	counters := func() (redisCPU, proxyCPU time.Duration) {
		for _, s := range cl.Servers {
			redisCPU += procCPU(b, s.PID)
		}
		return redisCPU, procCPU(b, proxy.pid)
	}
	variant := func(name string, f func(b *testing.B) time.Duration) {
		b.Run(name, func(b *testing.B) {
			var client, redisCPU, proxyCPU time.Duration
			for b.Loop() {
				b.StopTimer()
				flushAll(b, cl)
				r0, p0 := counters()
				b.StartTimer()
				client += f(b)
				b.StopTimer()
				r1, p1 := counters()
				redisCPU += r1 - r0
				proxyCPU += p1 - p0
				if got := dbsize(b, cl); got != int64(n) {
					b.Fatalf("%d keys in the cluster after the run, want %d", got, n)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(2*n)*float64(b.N)/b.Elapsed().Seconds(), "cmds/s")
			b.ReportMetric(client.Seconds()/float64(b.N), "client-cpu-s")
			b.ReportMetric(redisCPU.Seconds()/float64(b.N), "redis-cpu-s")
			b.ReportMetric(proxyCPU.Seconds()/float64(b.N), "proxy-cpu-s")
		})
	}
	variant("twine-pipe", func(b *testing.B) time.Duration {
		return runTwinePipe(b, input, cache, "-config", cl.Path, "-pipe")
	})
	variant("twine-pipe-resp", func(b *testing.B) time.Duration {
		return runTwinePipe(b, inputRESP, cache, "-config", cl.Path, "-pipe")
	})
	variant("route-pipe-direct", func(b *testing.B) time.Duration {
		return routePipe(b, cl.Config, nil, n)
	})
	variant("route-pipe-via-twemproxy", func(b *testing.B) time.Duration {
		pc, err := config.Load(proxyConf)
		if err != nil {
			b.Fatal(err)
		}
		return routePipe(b, pc, dialHelloShim, n)
	})
	variant("go-redis-direct", func(b *testing.B) time.Duration {
		part := make([]int, n)
		for i := range part {
			part[i], _ = cl.Config.Partition([]byte(benchKey(i)))
		}
		return goRedisPipes(b, n, parts, 1000, func(p int) string { return cl.Servers[p].Addr }, nil, func(i int) int { return part[i] })
	})
	variant("go-redis-via-twemproxy-1x1000", func(b *testing.B) time.Duration {
		return goRedisPipes(b, n, 1, 1000, func(int) string { return proxy.addr }, dialHelloShim, func(int) int { return 0 })
	})
	variant("go-redis-via-twemproxy-16x100", func(b *testing.B) time.Duration {
		return goRedisPipes(b, n, 16, 100, func(int) string { return proxy.addr }, dialHelloShim, func(i int) int { return i % 16 })
	})
}

// routePipe sends the SETs then the GETs of n keys through a route.Pipe on
// cluster c. With a dialer (twemproxy) every command goes unrouted to
// partition 0's node. It returns the CPU time this process used.
func routePipe(b *testing.B, c *config.Cluster, dialer func(context.Context, string, string) (net.Conn, error), n int) time.Duration {
	ctx := context.Background()
	r, err := route.New(c, route.Options{NoCache: true, Dialer: dialer, ReadTimeout: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	var o route.PipeOptions
	if dialer != nil {
		target := r.Master(0)
		o.Target = &target
	} else if _, err := r.Table(ctx); err != nil {
		b.Fatal(err)
	}
	var failed error
	var mu sync.Mutex
	o.OnError = func(_ int64, err error) {
		mu.Lock()
		failed = err
		mu.Unlock()
	}
	set, get := []byte("SET"), []byte("GET")
	var key, value []byte // reused: Send copies what it queues
	start := cpuTime()
	p := r.NewPipe(ctx, o)
	for i := range n {
		key = strconv.AppendInt(append(key[:0], "key:"...), int64(i), 10)
		value = strconv.AppendInt(append(value[:0], "value:"...), int64(i), 10)
		if err := p.Send(int64(i), [][]byte{set, key, value}); err != nil {
			b.Fatal(err)
		}
	}
	for i := range n {
		key = strconv.AppendInt(append(key[:0], "key:"...), int64(i), 10)
		if err := p.Send(int64(n+i), [][]byte{get, key}); err != nil {
			b.Fatal(err)
		}
	}
	st := p.Close()
	used := cpuTime() - start
	if st.Errors != 0 || st.Done != int64(2*n) {
		b.Fatalf("route.Pipe: %+v, last failure %v", st, failed)
	}
	return used
}

// helloShim is a connection to twemproxy, which closes connections that
// send HELLO, go-redis's first command: it answers HELLO itself with the
// error an old Redis gives (go-redis then goes on with RESP2) and passes
// everything else through.
type helloShim struct {
	net.Conn
	reply []byte // a local answer waiting to be read
}

func dialHelloShim(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &helloShim{Conn: c}, nil
}

func (c *helloShim) Write(b []byte) (int, error) {
	head := bytes.ToLower(b[:min(len(b), 24)])
	if bytes.HasPrefix(head, []byte("*")) && bytes.Contains(head, []byte("\r\nhello\r\n")) {
		c.reply = append(c.reply, "-ERR unknown command 'HELLO'\r\n"...)
		return len(b), nil
	}
	return c.Conn.Write(b)
}

func (c *helloShim) Read(b []byte) (int, error) {
	if len(c.reply) > 0 {
		n := copy(b, c.reply)
		c.reply = c.reply[n:]
		return n, nil
	}
	return c.Conn.Read(b)
}

// benchKeys returns $TWINE_BENCH_KEYS, default 1000000.
func benchKeys(b *testing.B) int {
	s := os.Getenv("TWINE_BENCH_KEYS")
	if s == "" {
		return 1000000
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		b.Fatalf("TWINE_BENCH_KEYS=%q: want a positive number", s)
	}
	return n
}

func benchKey(i int) string   { return "key:" + strconv.Itoa(i) }
func benchValue(i int) string { return "value:" + strconv.Itoa(i) }

// writeCommands writes n SETs then n GETs, one per line or, with resp,
// in the Redis protocol.
func writeCommands(b *testing.B, path string, n int, resp bool) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for i := range n {
		writeCommand(w, resp, "SET", benchKey(i), benchValue(i))
	}
	for i := range n {
		writeCommand(w, resp, "GET", benchKey(i))
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
}

// writeCommand writes one command, inline or in RESP; its arguments
// need no quotes.
func writeCommand(w io.Writer, resp bool, args ...string) {
	if !resp {
		fmt.Fprintln(w, strings.Join(args, " "))
		return
	}
	fmt.Fprintf(w, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(w, "$%d\r\n%s\r\n", len(a), a)
	}
}

// BenchmarkPipeInput measures the parsing of -pipe's input alone, from
// memory, per command (SET key:N value:N): inline and RESP through
// inputReader, and, as the baseline, the line loop -pipe had before it
// took RESP (bufio ReadSlice and argParser.split).
//
//	go test -run '^$' -bench PipeInput -count 10 ./cmd/twine
func BenchmarkPipeInput(b *testing.B) {
	const n = 100000
	for _, resp := range []bool{false, true} {
		var buf bytes.Buffer
		for i := range n {
			writeCommand(&buf, resp, "SET", benchKey(i), benchValue(i))
		}
		data := buf.Bytes()
		name := "inline"
		if resp {
			name = "resp"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data) / n))
			in := newInputReader(bytes.NewReader(data))
			for i := 0; b.Loop(); i++ {
				if i%n == 0 {
					in = newInputReader(bytes.NewReader(data))
				}
				if args, _, err := in.next(); err != nil || len(args) != 3 {
					b.Fatalf("%q, %v", args, err)
				}
			}
		})
		if resp {
			continue
		}
		b.Run("inline-line-loop-baseline", func(b *testing.B) {
			b.SetBytes(int64(len(data) / n))
			in := bufio.NewReaderSize(bytes.NewReader(data), 1<<20)
			var ap argParser
			for i := 0; b.Loop(); i++ {
				if i%n == 0 {
					in.Reset(bytes.NewReader(data))
				}
				line, err := in.ReadSlice('\n')
				if err != nil {
					b.Fatal(err)
				}
				if args, err := ap.split(line); err != nil || len(args) != 3 {
					b.Fatalf("%q, %v", args, err)
				}
			}
		})
	}
}

// runTwinePipe runs twine (this test binary acting as main) with stdin
// from input, checks its report and returns its CPU time.
func runTwinePipe(b *testing.B, input, cache string, args ...string) time.Duration {
	in, err := os.Open(input)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), mainEnv+"=1", route.CacheDirEnv+"="+cache)
	var out, errb bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = in, &out, &errb
	if err := cmd.Run(); err != nil {
		b.Fatalf("twine %v: %v\n%s%s", args, err, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "errors:   0\n") {
		b.Fatalf("twine %v reported errors:\n%s%s", args, out.String(), errb.String())
	}
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

// goRedisPipes sends the SETs then the GETs of n keys from conns
// goroutines, each with its own go-redis client to addr(goroutine)
// (through dialer when not nil) and pipelines of batch commands; key i
// goes to goroutine of(i). It returns the CPU
// time this process used meanwhile.
func goRedisPipes(b *testing.B, n, conns, batch int, addr func(int) string, dialer func(context.Context, string, string) (net.Conn, error), of func(int) int) time.Duration {
	keys := make([][]int, conns)
	for i := range n {
		g := of(i)
		keys[g] = append(keys[g], i)
	}
	clients := make([]*redis.Client, conns)
	for g := range conns {
		clients[g] = redis.NewClient(&redis.Options{
			Addr: addr(g), Protocol: 2, DisableIdentity: true, MaxRetries: -1, PoolSize: 1,
			ReadTimeout: time.Minute, Dialer: dialer,
			MaintNotificationsConfig: &maintnotifications.Config{
				Mode: maintnotifications.ModeDisabled,
			},
		})
		defer clients[g].Close()
	}
	start := cpuTime()
	var wg sync.WaitGroup
	errs := make([]error, conns)
	for g := range conns {
		wg.Go(func() { errs[g] = pipeKeys(clients[g], keys[g], batch) })
	}
	wg.Wait()
	used := cpuTime() - start
	if err := errors.Join(errs...); err != nil {
		b.Fatal(err)
	}
	return used
}

// pipeKeys SETs then GETs keys through c in pipelines of batch commands.
func pipeKeys(c *redis.Client, keys []int, batch int) error {
	ctx := context.Background()
	for _, get := range []bool{false, true} {
		for at := 0; at < len(keys); at += batch {
			pipe := c.Pipeline()
			for _, i := range keys[at:min(at+batch, len(keys))] {
				if get {
					pipe.Get(ctx, benchKey(i))
				} else {
					pipe.Set(ctx, benchKey(i), benchValue(i), 0)
				}
			}
			if _, err := pipe.Exec(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// cpuTime returns the CPU time used by this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU returns the CPU time (user + system) of process pid.
func procCPU(b *testing.B, pid int) time.Duration {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name (which may hold spaces) in ")".
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticks
}

func flushAll(b *testing.B, cl *routetest.Cluster) {
	for p := range cl.Servers {
		if err := cl.Client(b, p).FlushAll(context.Background()).Err(); err != nil {
			b.Fatal(err)
		}
	}
}

func dbsize(b *testing.B, cl *routetest.Cluster) int64 {
	var sum int64
	for p := range cl.Servers {
		n, err := cl.Client(b, p).DBSize(context.Background()).Result()
		if err != nil {
			b.Fatal(err)
		}
		sum += n
	}
	return sum
}

// twemproxy is a running nutcracker.
type twemproxy struct {
	addr string
	port int
	pid  int
}

// startTwemproxy starts nutcracker on loopback in front of the cluster's
// nodes, with the hash twine's crc32 is (crc32a), modula distribution in
// partition order and Redis Cluster hash tags. It is killed by PID at the
// end of the benchmark.
func startTwemproxy(b *testing.B, cl *routetest.Cluster) *twemproxy {
	bin, err := exec.LookPath("nutcracker")
	if err != nil {
		b.Fatal("nutcracker (twemproxy) not found: apt-get install -y nutcracker")
	}
	dir := b.TempDir()
	port, stats := redistest.FreePort(b), redistest.FreePort(b)
	var conf strings.Builder
	fmt.Fprintf(&conf, "twine:\n  listen: 127.0.0.1:%d\n  hash: crc32a\n  hash_tag: \"{}\"\n", port)
	conf.WriteString("  distribution: modula\n  redis: true\n  auto_eject_hosts: false\n  preconnect: true\n  servers:\n")
	for p, s := range cl.Servers {
		fmt.Fprintf(&conf, "   - %s:1 p%d\n", s.Addr, p)
	}
	path := filepath.Join(dir, "nutcracker.yml")
	if err := os.WriteFile(path, []byte(conf.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", path, "-s", strconv.Itoa(stats), "-a", "127.0.0.1",
		"-o", filepath.Join(dir, "nutcracker.log"), "-p", filepath.Join(dir, "nutcracker.pid"))
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	b.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	redistest.Eventually(b, 10*time.Second, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, "nutcracker did not listen on %s", addr)
	return &twemproxy{addr: addr, port: port, pid: cmd.Process.Pid}
}

// checkPlacement writes keys through twemproxy and checks that each one
// lands on the partition twine computes for it.
func checkPlacement(b *testing.B, cl *routetest.Cluster, proxyAddr string) {
	c := redis.NewClient(&redis.Options{Addr: proxyAddr, Protocol: 2, DisableIdentity: true, MaxRetries: -1, Dialer: dialHelloShim,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}})
	defer c.Close()
	ctx := context.Background()
	keys := []string{"{user42}.name", "{user42}.mail", "foo{}{bar}"}
	for i := range 300 {
		keys = append(keys, benchKey(i*3331))
	}
	for _, k := range keys {
		if err := c.Set(ctx, k, "x", 0).Err(); err != nil {
			b.Fatalf("SET %s through twemproxy: %v", k, err)
		}
	}
	for _, k := range keys {
		p, _ := cl.Config.Partition([]byte(k))
		if got := cl.Where(b, k); len(got) != 1 || got[0] != p {
			b.Fatalf("twemproxy put %q in partitions %v, twine says %d", k, got, p)
		}
	}
	flushAll(b, cl)
}
