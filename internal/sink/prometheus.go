package sink

import (
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pacbench/pacbench/internal/exporter"
	"github.com/pacbench/pacbench/internal/impair"
	"github.com/pacbench/pacbench/metrics"
)

// ValidateListenAddr checks a HOST:PORT to listen on: a host (possibly
// empty: every interface) and a decimal port 0–65535. Errors wrap ErrUsage.
func ValidateListenAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return Usage(fmt.Errorf("%q is not HOST:PORT: %v", addr, err))
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 || port == "" {
		return Usage(fmt.Errorf("%q: port %q is not a number from 0 to 65535", addr, port))
	}
	if host != "" && host != "localhost" && net.ParseIP(host) == nil {
		return Usage(fmt.Errorf("%q: host %q is not an IP address or localhost", addr, host))
	}
	return nil
}

// promSink serves Prometheus /metrics during the run (and --linger after).
type promSink struct {
	exp    *exporter.Exporter
	srv    *exporter.Server
	linger time.Duration
	log    io.Writer
	system string
	levels []string
	phases []string
	push   *remoteWriter // nil: no --remote-write
}

// NewPrometheus is the Factory of the metrics endpoint, on when
// cfg.MetricsAddr is set, and of the remote-write push, on when
// cfg.RemoteWrite is. It binds the address at once, so a bad address, a
// port in use or a bad URL is a usage error before anything starts.
func NewPrometheus(ctx context.Context, cfg Config) (Sink, error) {
	if cfg.MetricsAddr == "" && cfg.RemoteWrite == "" {
		return nil, nil
	}
	reg := prometheus.NewRegistry()
	exp, err := exporter.New(exporter.Options{Registry: reg})
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	log := cfg.Log
	if log == nil {
		log = io.Discard
	}
	p := &promSink{exp: exp, linger: cfg.Linger, log: log}
	if cfg.RemoteWrite != "" {
		u, err := ValidateRemoteWrite(cfg.RemoteWrite)
		if err != nil {
			return nil, err
		}
		p.push = newRemoteWriter(u, reg)
	}
	if cfg.MetricsAddr == "" {
		return p, nil
	}
	if err := ValidateListenAddr(cfg.MetricsAddr); err != nil {
		return nil, fmt.Errorf("--metrics-addr: %w", err)
	}
	srv, err := exporter.Serve(ctx, cfg.MetricsAddr, exp.Handler())
	if err != nil {
		return nil, Usage(fmt.Errorf("--metrics-addr %s: %w", cfg.MetricsAddr, err))
	}
	fmt.Fprintf(log, "metrics on http://%s/metrics\n", srv.Addr())
	p.srv = srv
	return p, nil
}

// Addr is the address /metrics is served on ("" with remote-write only).
func (p *promSink) Addr() string {
	if p.srv == nil {
		return ""
	}
	return p.srv.Addr()
}

// Start implements Sink: pacbench_run_info.
func (p *promSink) Start(info Info) error {
	p.system, p.levels, p.phases = info.System, info.Levels, info.Phases
	p.exp.SetRunInfo(map[string]string{"run_id": info.RunID, "profile": info.Profile, "version": info.Version,
		"system": info.System, "mode": info.Mode, "shard": info.Shard})
	p.exp.SetPhases(info.Phases)
	return nil
}

// AddInterval implements Sink: pacbench_phase_info follows the phase
// running at the end of each interval (none after the final one).
func (p *promSink) AddInterval(t Tick) error {
	p.exp.SetPhase(slices.Index(p.phases, t.Phase))
	if t.Final {
		p.exp.SetPhase(-1)
	}
	return nil
}

// Cumulative implements Cumulative: publish the interval and the totals.
func (p *promSink) Cumulative(t Tick, res *metrics.Results) error {
	p.exp.Update(p.system, p.levels, res, t.Interval)
	if p.push != nil {
		p.push.offer()
	}
	return nil
}

// Impairments implements ImpairmentWatcher.
func (p *promSink) Impairments(active []impair.Action) {
	p.exp.SetImpairments(exporter.ActiveFromActions(active))
}

// Finish implements Sink: the final remote-write push (the last
// interval's totals), noted in the results if any push failed.
func (p *promSink) Finish(end *End) error {
	if p.push == nil || end == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultRemoteWriteTimeout)
	defer cancel()
	if note := p.push.flush(ctx); note != "" {
		end.AddNote(note)
	}
	return nil
}

// Stop implements Stopper: keep /metrics up for the linger (so the last
// scrape is not lost), cut short by ctx, then close it.
func (p *promSink) Stop(ctx context.Context) error {
	if p.linger > 0 {
		fmt.Fprintf(p.log, "keeping /metrics up for %s\n", p.linger)
		t := time.NewTimer(p.linger)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	if p.srv == nil {
		return nil
	}
	return p.srv.Close()
}
