package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/raidakx/raidakx/host/pool"
	"github.com/raidakx/raidakx/host/storage"
)

// TestRegistryLabelsNodes puts two nodes in one registry, as net serve
// does, and checks that each node's series carry its raida_id and that
// the process's series appear once.
func TestRegistryLabelsNodes(t *testing.T) {
	reg := NewRegistry()
	for _, id := range []int{3, 17} {
		m := reg.Node(id, func() pool.Stats { return pool.Stats{Instances: int64(id)} }, func() storage.PageStats { return storage.PageStats{} })
		// echo: group 0, command 0; answered 250 (byte 2 of the answer)
		req := make([]byte, 32)
		resp := make([]byte, 32)
		resp[2] = 250
		m.Observe("udp", req, resp, time.Millisecond)
	}
	rec := httptest.NewRecorder()
	reg.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`raidakx_pool_instances{raida_id="3"} 3`,
		`raidakx_pool_instances{raida_id="17"} 17`,
		`raidakx_requests_total{command="echo",raida_id="3",status="STATUS_SUCCESS",transport="udp"} 1`,
		`raidakx_requests_total{command="echo",raida_id="17",status="STATUS_SUCCESS",transport="udp"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if n := strings.Count(string(body), "\ngo_goroutines "); n != 1 {
		t.Errorf("go_goroutines appears %d times, want once", n)
	}
}
