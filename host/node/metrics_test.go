package node_test

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/raidakx/raidakx/host/client"
)

// TestMetrics serves metrics_listen and checks that a request shows up in
// the counters by command and status, with the pool and page-cache series.
func TestMetrics(t *testing.T) {
	root := newRoot(t)
	port := freePort(t)
	withConfig(t, root, "metrics_listen = \"127.0.0.1:"+strconv.Itoa(port)+"\"")
	srv := start(t, root)
	if _, err := client.NewRequest(4, 44, []byte{1, 0, 0, 0, 7}, client.Encryption{}).Do(srv.node("udp")); err != nil {
		t.Fatal(err)
	}
	// The server counts a request after it sent the answer: wait for it.
	var body []byte
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), `raidakx_requests_total{command="44"`) {
			break
		}
	}
	for _, want := range []string{
		`raidakx_requests_total{command="44",status="NO_ERROR",transport="udp"} 1`,
		`raidakx_requests_total{command="echo",status="STATUS_SUCCESS",transport="udp"}`,
		`raidakx_request_duration_seconds_bucket{command="44",transport="udp"`,
		"raidakx_pool_instances 2",
		"raidakx_pool_replacements_total 0",
		"raidakx_page_write_errors_total 0",
		"raidakx_journal_bytes ",
		"raidakx_commit_rounds_total",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	srv.stop(t)
}
