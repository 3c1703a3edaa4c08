package sink

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/klauspost/compress/snappy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/prompb"
)

// TestRemoteWriteEncoding: what is pushed decodes with Prometheus's own
// remote-write types, labels sorted, every sample of the exposition there.
func TestRemoteWriteEncoding(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "x_total", Help: "h"}, []string{"op"})
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "d_seconds", Help: "h", Buckets: []float64{0.1, 1}})
	reg.MustRegister(c, h)
	c.WithLabelValues("read").Add(3)
	h.Observe(0.5)
	h.Observe(2)
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Header.Get("Content-Encoding") != "snappy" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			http.Error(w, "headers", http.StatusBadRequest)
			return
		}
		body = b
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	u, err := ValidateRemoteWrite(srv.URL + "/api/v1/write")
	if err != nil {
		t.Fatal(err)
	}
	if note := newRemoteWriter(u, reg).flush(context.Background()); note != "" {
		t.Fatal(note)
	}
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		t.Fatal(err)
	}
	var req prompb.WriteRequest
	if err := req.Unmarshal(raw); err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, ts := range req.Timeseries {
		var parts []string
		for i, l := range ts.Labels {
			if i > 0 && ts.Labels[i-1].Name >= l.Name {
				t.Errorf("labels not sorted: %v", ts.Labels)
			}
			if l.Name != "instance" {
				parts = append(parts, l.Name+"="+l.Value)
			}
		}
		if len(ts.Samples) != 1 {
			t.Fatalf("%v: %d samples", parts, len(ts.Samples))
		}
		got[strings.Join(parts, ",")] = ts.Samples[0].Value
	}
	for k, v := range map[string]float64{
		"__name__=x_total,job=pacbench,op=read":          3,
		"__name__=d_seconds_count,job=pacbench":          2,
		"__name__=d_seconds_sum,job=pacbench":            2.5,
		"__name__=d_seconds_bucket,job=pacbench,le=0.1":  0,
		"__name__=d_seconds_bucket,job=pacbench,le=1":    1,
		"__name__=d_seconds_bucket,job=pacbench,le=+Inf": 2,
	} {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v; all: %v", k, g, ok, v, got)
		}
	}
}

// TestRemoteWriteFailures: a receiver that refuses is a note in the
// results naming how many pushes failed, never the URL's password; a bad
// URL is a usage error.
func TestRemoteWriteFailures(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "out of order sample", http.StatusBadRequest)
	}))
	defer srv.Close()
	u, err := ValidateRemoteWrite(strings.Replace(srv.URL, "http://", "http://user:s3cret@", 1) + "/api/v1/write")
	if err != nil {
		t.Fatal(err)
	}
	w := newRemoteWriter(u, prometheus.NewRegistry())
	w.offer()
	note := w.flush(context.Background())
	if !strings.Contains(note, "2 of 2 pushes failed") || !strings.Contains(note, "HTTP 400: out of order sample") || strings.Contains(note, "s3cret") {
		t.Errorf("note %q", note)
	}
	for _, bad := range []string{"ftp://h/x", "127.0.0.1:9090", "http://u:s3cret@/x", "::"} {
		_, err := ValidateRemoteWrite(bad)
		if !errors.Is(err, ErrUsage) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
