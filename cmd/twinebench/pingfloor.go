package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// pingFloorScenario measures the least a health checker can cost: one
// goroutine that, every second, writes PING to every node over kept
// connections and then reads every reply, with no supervisor. It runs in
// a child process of its own, measured as the idle scenario measures a
// supervisor: twined's idle CPU is reported against it.
var pingFloorScenario = scenario{
	Name:   "pingfloor",
	Title:  "the floor under idle cost: one goroutine PINGs every node each second over kept connections (CPU % of one core)",
	Nodes:  256,
	Trials: func(b *bench, _ int) int { return max(1, int(b.duration/idleWindow)) },
	Direct: true,
	Run:    runPingFloor,
}

// pingFloorEnv, set to "1", makes the bench binary run the floor pinger on
// the addresses given as arguments.
const pingFloorEnv = "TWINEBENCH_PINGFLOOR"

// isPingFloor reports whether this process was started as the floor pinger.
func isPingFloor() bool { return os.Getenv(pingFloorEnv) == "1" }

// pingFloor is the floor pinger's main: it connects to every address, then
// once a second writes PING to all and reads all the replies, until
// killed. It exits 1 when a connection fails.
func pingFloor(addrs []string, stderr io.Writer) int {
	conns := make([]net.Conn, len(addrs))
	readers := make([]*bufio.Reader, len(addrs))
	for i, a := range addrs {
		c, err := net.DialTimeout("tcp", a, 5*time.Second)
		if err != nil {
			fmt.Fprintln(stderr, "pingfloor:", err)
			return 1
		}
		conns[i], readers[i] = c, bufio.NewReaderSize(c, 64)
	}
	ping := []byte("*1\r\n$4\r\nPING\r\n")
	for t := time.NewTicker(time.Second); ; <-t.C {
		deadline := time.Now().Add(500 * time.Millisecond)
		for _, c := range conns {
			_ = c.SetDeadline(deadline)
			if _, err := c.Write(ping); err != nil {
				fmt.Fprintln(stderr, "pingfloor:", err)
				return 1
			}
		}
		for i, r := range readers {
			if _, err := r.ReadSlice('\n'); err != nil {
				fmt.Fprintln(stderr, "pingfloor:", addrs[i], err)
				return 1
			}
		}
	}
}

func runPingFloor(ctx context.Context, b *bench, _ system, base result, trials int) ([]result, error) {
	r := base
	r.Supervisor = "pingfloor"
	r.Metric, r.Unit = "idle_cpu_percent", "%"
	r.Target = target{Text: "none (the floor)"}
	c, err := b.newCluster(r.Nodes)
	if err != nil {
		return []result{r}, err
	}
	defer b.remove(c)
	if err := c.writeRedisConfs(false); err != nil {
		return []result{r}, err
	}
	cmds, err := startAll(c)
	defer func() {
		for _, cmd := range cmds {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()
	if err != nil {
		return []result{r}, err
	}
	if _, err := waitAll(ctx, c, startLimit(r.Nodes)); err != nil {
		return []result{r}, err
	}
	self, err := os.Executable()
	if err != nil {
		return []result{r}, err
	}
	var addrs []string
	for _, n := range c.nodes {
		addrs = append(addrs, n.Addr())
	}
	pinger := exec.Command(self, addrs...)
	pinger.Env = append(os.Environ(), pingFloorEnv+"=1")
	pinger.Stderr = os.Stderr
	pinger.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := pinger.Start(); err != nil {
		return []result{r}, err
	}
	defer func() {
		_ = pinger.Process.Kill()
		_ = pinger.Wait()
	}()
	if err := pause(ctx, idleSettle); err != nil {
		return []result{r}, err
	}
	window := min(idleWindow, max(b.duration/time.Duration(trials), time.Second))
	for i := range trials {
		begin, t0, err := cpuNow(pinger.Process.Pid)
		if err != nil {
			return []result{r}, err
		}
		if err := pause(ctx, window); err != nil {
			return []result{r}, err
		}
		ticks, t1, err := cpuNow(pinger.Process.Pid)
		if err != nil {
			return []result{r}, err
		}
		r.Samples = append(r.Samples, 100*float64(ticks-begin)/clockTicks/t1.Sub(t0).Seconds())
		b.logf("%s pingfloor: window %d/%d: cpu %s", r.Metric, i+1, trials, r.format(r.Samples[i]))
	}
	return []result{r}, nil
}
