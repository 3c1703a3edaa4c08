package sink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/snappy"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/encoding/protowire"
)

// DefaultRemoteWriteTimeout bounds one remote-write request.
const DefaultRemoteWriteTimeout = 10 * time.Second

// ValidateRemoteWrite checks a --remote-write URL: http or https with a
// host. Errors wrap ErrUsage and never show the URL's password.
func ValidateRemoteWrite(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, Usage(errors.New("--remote-write: not a URL"))
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, Usage(fmt.Errorf("--remote-write %s: want http(s)://HOST[:PORT]/PATH (Prometheus: /api/v1/write)", u.Redacted()))
	}
	return u, nil
}

// remoteWriter pushes the exporter's families to a Prometheus remote-write
// receiver (protocol 1.0: a snappy-compressed protobuf WriteRequest),
// every interval in the background (the newest snapshot wins: a slow
// receiver never holds the collector up) and once more, synchronously, at
// the end. Safe for concurrent use.
type remoteWriter struct {
	url      *url.URL
	client   *http.Client
	gatherer prometheus.Gatherer
	extra    []label // job and instance: what a scrape would have added

	mu      sync.Mutex
	pending bool
	busy    bool
	idle    *sync.Cond
	pushes  int
	failed  int
	lastErr error
	lastTs  int64 // ms of the last push: every push is later
}

type label struct{ name, value string }

func newRemoteWriter(u *url.URL, g prometheus.Gatherer) *remoteWriter {
	host, _ := os.Hostname()
	w := &remoteWriter{url: u, gatherer: g, client: &http.Client{Timeout: DefaultRemoteWriteTimeout},
		extra: []label{{"instance", fmt.Sprintf("%s:%d", host, os.Getpid())}, {"job", "pacbench"}}}
	w.idle = sync.NewCond(&w.mu)
	return w
}

// offer asks for a push of the current state; one runs at a time and
// offers made meanwhile collapse into the next.
func (w *remoteWriter) offer() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending = true
	if !w.busy {
		w.busy = true
		go w.loop()
	}
}

func (w *remoteWriter) loop() {
	w.mu.Lock()
	for w.pending {
		w.pending = false
		w.mu.Unlock()
		err := w.push(context.Background())
		w.mu.Lock()
		w.record(err)
	}
	w.busy = false
	w.idle.Broadcast()
	w.mu.Unlock()
}

func (w *remoteWriter) record(err error) {
	w.pushes++
	if err != nil {
		w.failed++
		w.lastErr = err
	}
}

// flush waits for a background push and pushes the final state; it
// returns a note when any push failed ("" otherwise).
func (w *remoteWriter) flush(ctx context.Context) string {
	w.mu.Lock()
	for w.busy {
		w.idle.Wait()
	}
	w.pending = false
	w.mu.Unlock()
	err := w.push(ctx)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.record(err)
	if w.failed == 0 {
		return ""
	}
	return fmt.Sprintf("remote-write to %s: %d of %d pushes failed (the last one: %v)", w.url.Redacted(), w.failed, w.pushes, w.lastErr)
}

// push gathers the families and sends them in one request.
func (w *remoteWriter) push(ctx context.Context) error {
	mfs, err := w.gatherer.Gather()
	if err != nil {
		return fmt.Errorf("gather: %w", err)
	}
	w.mu.Lock()
	ts := max(time.Now().UnixMilli(), w.lastTs+1)
	w.lastTs = ts
	w.mu.Unlock()
	body := snappy.Encode(nil, encodeWriteRequest(mfs, w.extra, ts))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url.String(), bytes.NewReader(body))
	if err != nil {
		return errors.New("bad request")
	}
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	resp, err := w.client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // the URL (and a password in it) stays out
		}
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	return nil
}

// encodeWriteRequest renders families as a remote-write WriteRequest
// (prometheus/prompb: timeseries = 1 {labels = 1 {name = 1, value = 2},
// samples = 2 {value = 1, timestamp = 2}}), every series at ts (ms): the
// exposition's samples as a scrape would store them (a histogram's
// classic _bucket/_sum/_count, a summary's quantiles/_sum/_count).
func encodeWriteRequest(mfs []*dto.MetricFamily, extra []label, ts int64) []byte {
	var out []byte
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			base := append([]label(nil), extra...)
			for _, lp := range m.GetLabel() {
				base = append(base, label{lp.GetName(), lp.GetValue()})
			}
			for _, s := range samplesOf(mf.GetName(), mf.GetType(), m) {
				out = protowire.AppendTag(out, 1, protowire.BytesType)
				out = protowire.AppendBytes(out, encodeSeries(append(append([]label(nil), base...), s.labels...), s.value, ts))
			}
		}
	}
	return out
}

type sample struct {
	labels []label // __name__ and any le/quantile
	value  float64
}

func samplesOf(name string, t dto.MetricType, m *dto.Metric) []sample {
	one := func(suffix string, v float64, more ...label) sample {
		return sample{labels: append([]label{{"__name__", name + suffix}}, more...), value: v}
	}
	switch t {
	case dto.MetricType_COUNTER:
		return []sample{one("", m.GetCounter().GetValue())}
	case dto.MetricType_GAUGE:
		return []sample{one("", m.GetGauge().GetValue())}
	case dto.MetricType_SUMMARY:
		s := m.GetSummary()
		out := []sample{one("_sum", s.GetSampleSum()), one("_count", float64(s.GetSampleCount()))}
		for _, q := range s.GetQuantile() {
			out = append(out, one("", q.GetValue(), label{"quantile", formatFloat(q.GetQuantile())}))
		}
		return out
	case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
		h := m.GetHistogram()
		out := []sample{one("_sum", h.GetSampleSum()), one("_count", float64(h.GetSampleCount())),
			one("_bucket", float64(h.GetSampleCount()), label{"le", "+Inf"})}
		for _, b := range h.GetBucket() {
			if !math.IsInf(b.GetUpperBound(), 1) {
				out = append(out, one("_bucket", float64(b.GetCumulativeCount()), label{"le", formatFloat(b.GetUpperBound())}))
			}
		}
		return out
	default:
		return []sample{one("", m.GetUntyped().GetValue())}
	}
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// encodeSeries is one TimeSeries: its labels sorted by name (as the
// receiver requires) and one sample.
func encodeSeries(ls []label, v float64, ts int64) []byte {
	slices.SortFunc(ls, func(a, b label) int { return strings.Compare(a.name, b.name) })
	var b []byte
	for _, l := range ls {
		var lb []byte
		lb = protowire.AppendTag(lb, 1, protowire.BytesType)
		lb = protowire.AppendString(lb, l.name)
		lb = protowire.AppendTag(lb, 2, protowire.BytesType)
		lb = protowire.AppendString(lb, l.value)
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendBytes(b, lb)
	}
	var sb []byte
	sb = protowire.AppendTag(sb, 1, protowire.Fixed64Type)
	sb = protowire.AppendFixed64(sb, math.Float64bits(v))
	sb = protowire.AppendTag(sb, 2, protowire.VarintType)
	sb = protowire.AppendVarint(sb, uint64(ts))
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	return protowire.AppendBytes(b, sb)
}
