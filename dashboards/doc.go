// Package dashboards holds pacbench's Grafana dashboards
// (pacbench-overview.json, pacbench-consistency.json) and their provisioning
// files (provisioning/: the default Prometheus datasource, uid
// "pacbench-prom", and the dashboard provider), mounted by
// docker-compose.yml.
//
// The dashboards import into any Grafana as they are: their datasource is
// the variable ${datasource} (defaulting to the __inputs entry
// DS_PROMETHEUS that Grafana's import asks for; provisioned, to the
// default datasource), a run selector (variable run, from
// pacbench_run_info, newest run first) filters every query inside its
// aggregations, heatmaps repeat per level, phases and impairments are
// annotated (pacbench_phase_info, pacbench_impairment_active).
//
// It has no Go API; its tests check the dashboards statically and, with
// real Prometheus servers of both majors (PACBENCH_PROMETHEUS_BIN, Debian's
// 2.x; PACBENCH_PROMETHEUS3_BIN, 3.x built from its Go module; see
// scripts/prometheus.sh), run every panel's query against a scrape of two
// real pacbench runs.
package dashboards
