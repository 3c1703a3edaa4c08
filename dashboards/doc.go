// Package dashboards holds pacbench's Grafana dashboards
// (pacbench-overview.json, pacbench-consistency.json) and their provisioning
// files (provisioning/: datasource uid "pacbench-prom", dashboard provider),
// mounted by docker-compose.yml. It has no Go API; its tests check the
// dashboards statically and, with a real Prometheus
// (PACBENCH_PROMETHEUS_BIN, see scripts/prometheus.sh), run every panel's
// query against a scrape of a real pacbench run.
package dashboards
