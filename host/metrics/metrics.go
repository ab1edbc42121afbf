// Package metrics exposes the server's counters to Prometheus: requests
// by command and status, latency, the pool and the page store.
package metrics

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/pool"
	"github.com/raidakx/raidakx/host/storage"
)

// Registry is one /metrics endpoint: the Go runtime's and the process's
// collectors, and the series of every node added with Node, each
// labelled with its raida_id (raidakx net serve runs 25 nodes in one
// process).
type Registry struct{ reg *prometheus.Registry }

// NewRegistry returns a registry with the runtime and process collectors
// and no node.
func NewRegistry() *Registry {
	r := &Registry{reg: prometheus.NewRegistry()}
	r.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

// Handler serves the metrics in the Prometheus text format.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{})
}

// Listen serves h at /metrics on addr (TCP) in the background, and
// returns the server, to close, and the address it listens on.
func Listen(addr string, h http.Handler) (*http.Server, string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	return srv, ln.Addr().String(), nil
}

// Node adds a node's series, labelled raida_id=raidaID, and returns its
// observer; poolStats and storeStats are read at every scrape.
func (r *Registry) Node(raidaID int, poolStats func() pool.Stats, storeStats func() storage.PageStats) *Metrics {
	return r.add(prometheus.Labels{"raida_id": strconv.Itoa(raidaID)}, poolStats, storeStats)
}

// Metrics implements server.Observer for one node.
type Metrics struct {
	reg        *Registry
	requests   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	dropped    *prometheus.CounterVec
	commandIDs [256]string // command label by request byte 5 in group 4
}

// New returns the metrics of a node alone in its registry, without a
// raida_id label; poolStats and storeStats are read at every scrape.
func New(poolStats func() pool.Stats, storeStats func() storage.PageStats) *Metrics {
	return NewRegistry().add(nil, poolStats, storeStats)
}

// add registers one node's collectors, each with the constant labels.
func (r *Registry) add(labels prometheus.Labels, poolStats func() pool.Stats, storeStats func() storage.PageStats) *Metrics {
	m := &Metrics{reg: r}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "raidakx_requests_total", Help: "Requests answered, by transport, command and status.", ConstLabels: labels,
	}, []string{"transport", "command", "status"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "raidakx_request_duration_seconds", Help: "Time from request received to response sent.", ConstLabels: labels,
		Buckets: prometheus.ExponentialBuckets(50e-6, 2, 14), // 50 µs .. 0.4 s
	}, []string{"transport", "command"})
	m.dropped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "raidakx_dropped_connections_total", Help: "TCP connections closed without an answer, by reason.", ConstLabels: labels,
	}, []string{"reason"})
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: labels}, f)
	}
	counter := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels}, f)
	}
	r.reg.MustRegister(m.requests, m.latency, m.dropped,
		gauge("raidakx_pool_instances", "Module instances ready or busy.", func() float64 { return float64(poolStats().Instances) }),
		counter("raidakx_pool_replacements_total", "Instances made to replace failed ones.", func() float64 { return float64(poolStats().Replacements) }),
		counter("raidakx_pool_faults_total", "Requests answered 252 because their instance failed.", func() float64 { return float64(poolStats().Faults) }),
		counter("raidakx_pool_timeouts_total", "Instances interrupted for running past request_timeout.", func() float64 { return float64(poolStats().Timeouts) }),
		counter("raidakx_pool_rejected_total", "Requests answered 252 because the queue was full.", func() float64 { return float64(poolStats().Rejected) }),
		counter("raidakx_pool_wait_timeouts_total", "Requests answered 252 because no instance was free within request_timeout.", func() float64 { return float64(poolStats().WaitTimeouts) }),
		counter("raidakx_commit_failures_total", "Requests answered 252 because their changes were not durable within request_timeout.", func() float64 { return float64(poolStats().CommitFailures) }),
		counter("raidakx_commit_rounds_total", "Group-commit rounds that served a Commit.", func() float64 { return float64(storeStats().CommitRounds) }),
		counter("raidakx_journal_sync_seconds_total", "Time spent appending to and syncing the journal.", func() float64 { return storeStats().TotalSync.Seconds() }),
		counter("raidakx_journal_bytes_total", "Bytes appended to the journal and synced.", func() float64 { return float64(storeStats().JournalBytes) }),
		counter("raidakx_journal_errors_total", "Journal appends or syncs that failed (their requests were answered 252).", func() float64 { return float64(storeStats().JournalErrors) }),
		gauge("raidakx_journal_bytes", "Bytes in the journal files now; writes fail at journal_max.", func() float64 { return float64(storeStats().JournalSize) }),
		counter("raidakx_checkpoints_total", "Checkpoints that synced their page files and removed the old journal.", func() float64 { return float64(storeStats().Checkpoints) }),
		counter("raidakx_pages_synced_total", "Page files synced by checkpoints.", func() float64 { return float64(storeStats().PagesSynced) }),
		counter("raidakx_page_write_errors_total", "Page files that could not be written or synced (the journal keeps their records).", func() float64 { return float64(storeStats().PageSyncErrors) }),
		counter("raidakx_page_lock_timeouts_total", "Page lock waits that gave up (answered 252).", func() float64 { return float64(storeStats().LockTimeouts) }),
		counter("raidakx_writes_rejected_total", "Record writes refused because the journal is full (answered 252).", func() float64 { return float64(storeStats().WritesRejected) }),
		gauge("raidakx_page_files_open", "Page files kept open.", func() float64 { return float64(storeStats().OpenFiles) }),
	)
	for i := range m.commandIDs {
		m.commandIDs[i] = "other"
	}
	for _, c := range []byte{41, 42, 43, 44, 45} {
		m.commandIDs[c] = strconv.Itoa(int(c))
	}
	return m
}

// command names a request's command for labels.
func (m *Metrics) command(req []byte) string {
	switch {
	case len(req) < abi.HeaderSize:
		return "short"
	case req[abi.OffGroup] == abi.GroupStatus && req[abi.OffCommand] == abi.CommandEcho:
		return "echo"
	case req[abi.OffGroup] == abi.GroupKeys:
		return m.commandIDs[req[abi.OffCommand]]
	}
	return "other"
}

// Observe implements server.Observer.
func (m *Metrics) Observe(transport string, req, resp []byte, d time.Duration) {
	cmd := m.command(req)
	status := "none"
	if len(resp) > abi.OffRespStatus {
		status = abi.Status(resp[abi.OffRespStatus]).String()
	}
	m.requests.WithLabelValues(transport, cmd, status).Inc()
	m.latency.WithLabelValues(transport, cmd).Observe(d.Seconds())
}

// DroppedConnection implements server.Observer.
func (m *Metrics) DroppedConnection(reason string) { m.dropped.WithLabelValues(reason).Inc() }

// Handler serves the metrics of m's registry in the Prometheus text
// format.
func (m *Metrics) Handler() http.Handler { return m.reg.Handler() }
