package main

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twine/twine/supervisor/cluster"
)

// bigView is a cluster view of 8 hosts × 32 nodes: 128 partitions, each a
// master and a replica on two hosts, with a host lost, a master held and
// a node in backoff, as the page must show at that size.
func bigView() cluster.View {
	v := cluster.View{Cluster: "twine", Status: cluster.StatusHalt, Alpha: "db1", AlphaEpoch: 7, Time: time.Unix(1_800_000_000, 0)}
	for h := range 8 {
		v.Hosts = append(v.Hosts, cluster.HostView{Host: fmt.Sprintf("db%d", h+1), Status: cluster.StatusOK, Seen: v.Time})
	}
	for p := range 128 {
		m, r := p%8, (p+1)%8
		for i, h := range []int{m, r} {
			role := "master"
			if i == 1 {
				role = "replica"
			}
			state := "up"
			switch {
			case p == 17 && i == 0:
				state = "held"
			case p == 40 && i == 1:
				state = "backoff"
			case h == 5:
				state = "down"
			}
			v.Hosts[h].Nodes = append(v.Hosts[h].Nodes, cluster.NodeView{Name: fmt.Sprintf("%s%d", []string{"m", "r"}[i], p), Kind: "data",
				Partition: p, Host: v.Hosts[h].Host, Port: 7000 + p, Role: role, State: state})
		}
		st := cluster.StatusOK
		if m == 5 || p == 17 {
			st = cluster.StatusHalt
		} else if r == 5 || p == 40 {
			st = cluster.StatusDegraded
		}
		v.Partitions = append(v.Partitions, cluster.PartitionView{Partition: p, Master: fmt.Sprintf("m%d", p), Status: st,
			Nodes: []string{fmt.Sprintf("m%d", p), fmt.Sprintf("r%d", p)}})
	}
	v.Hosts[5].Lost, v.Hosts[5].Status = true, cluster.StatusHalt
	return v
}

// chromium returns Debian's headless browser, failing the test with how
// to install it when it is missing.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("this test renders the cluster page in a real browser: apt-get install -y chromium")
	return ""
}

// browse runs headless chromium on url with extra flags and returns its
// standard output.
func browse(t *testing.T, url string, extra ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir()}, extra...)
	cmd := exec.CommandContext(ctx, chromium(t), append(args, url)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", extra, err, errb.String())
	}
	return out.Bytes()
}

// The cluster page at 256 nodes on 8 hosts, in a real browser: every
// partition has its box with one square per host, the lost host and the
// HALTed partitions show, and the page fits a screen's width.
func TestClusterPageInABrowser(t *testing.T) {
	var page bytes.Buffer
	if err := clusterPage(&page, bigView()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page.Bytes())
	}))
	defer srv.Close()

	dom := string(browse(t, srv.URL, "--dump-dom"))
	if n := strings.Count(dom, `class="p `); n != 128 {
		t.Errorf("the browser's DOM has %d partition boxes, want 128", n)
	}
	if n := strings.Count(dom, `class="c `); n != 128*8 {
		t.Errorf("the browser's DOM has %d host squares, want %d (8 per partition)", n, 128*8)
	}
	for _, want := range []string{"HALT · cluster twine", "lost: its twined does not publish", ">p17<", "alpha db1 (epoch 7)"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the rendered page lacks %q", want)
		}
	}

	shot := filepath.Join(t.TempDir(), "cluster.png")
	browse(t, srv.URL, "--window-size=1280,900", "--screenshot="+shot)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 900 {
		t.Errorf("screenshot is %v, want 1280×900", b)
	}
	colours := map[uint32]bool{}
	for y := 0; y < img.Bounds().Dy(); y += 7 {
		for x := 0; x < img.Bounds().Dx(); x += 7 {
			r, g, b, _ := img.At(x, y).RGBA()
			colours[r>>12<<8|g>>12<<4|b>>12] = true
		}
	}
	if len(colours) < 6 {
		t.Errorf("the screenshot shows %d colours: the page did not render its states", len(colours))
	}
	if dir := os.Getenv("TWINE_SCREENSHOT_DIR"); dir != "" {
		b, _ := os.ReadFile(shot)
		_ = os.WriteFile(filepath.Join(dir, "cluster.png"), b, 0o644)
	}
}
