#!/usr/bin/env bash
# scripts/test.sh — the one test command (README, .ci/run). On a fresh
# machine it installs and starts everything the tests need, by itself:
#   - Go module dependencies (go mod download),
#   - Prometheus + promtool (Debian package, 2.x) and Prometheus 3.x (built
#     from its Go module, tools/prometheus3) for the exporter/dashboard tests,
#   - FerretDB (built from its Go module) as the MongoDB-wire server,
#   - Apache Cassandra 5.0 (Maven Central) as a real 3-node loopback cluster
#     behind Toxiproxy (built from its Go module), each node under
#     libfaketime (Debian's faketime) so node_clock_skew can move its clock,
#   - Chromium (Debian package) for the headless-browser tests of
#     report.html and compare.html (screenshots go to $PACBENCH_ARTIFACTS,
#     default test-artifacts/),
# then runs gofmt/vet checks and `go test` in two stages, so the Cassandra
# JVMs do not share the 2 cores with the latency-sensitive etcd tests.
# Everything it starts is stopped on exit. Integration tests whose server is
# missing fail when CI=true and skip (saying how to get it) otherwise.
#
# Options via environment:
#   PACBENCH_SKIP_CASSANDRA=1   do not start Cassandra (its tests then skip, or fail in CI)
#   GOTEST_FLAGS                extra flags for go test (e.g. -run, -v)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export PACBENCH_CACHE=${PACBENCH_CACHE:-$HOME/.cache/pacbench}
mkdir -p "$PACBENCH_CACHE"
GOTEST_FLAGS=${GOTEST_FLAGS:-}
# Packages whose tests start no database server: run under the race detector.
RACE_PKGS="./op/... ./internal/redact/... ./internal/owner/... ./workloads/... ./metrics/... ./profile/... ./internal/report/... ./internal/htmlreport/... ./internal/sink/... ./internal/checkers/... ./internal/impair/... ./internal/runner/... ./internal/load/... ./internal/plan/... ./internal/exporter/... ./drivers ./internal/fakedriver/..."

step() { printf '\n=== %s (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }

cleanup() {
	set +e
	scripts/ferretdb.sh stop >/dev/null 2>&1
	scripts/cassandra.sh stop >/dev/null 2>&1
}
trap cleanup EXIT

step "go modules"
go mod download
go build ./...

step "static checks"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.git/*'))
if [[ -n "$unformatted" ]]; then
	echo "gofmt needed on:"; echo "$unformatted"; exit 1
fi
go vet ./...
# staticcheck at a pinned version (built from the module proxy, cached in GOPATH/bin).
STATICCHECK_VERSION=v0.8.2
GOBIN_DIR=$(go env GOPATH)/bin
if ! "$GOBIN_DIR/staticcheck" -version 2>/dev/null | grep -q "${STATICCHECK_VERSION#v}"; then
	go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
fi
"$GOBIN_DIR/staticcheck" ./...
# go mod tidy must leave go.mod and go.sum unchanged (in the current dir).
check_tidy() {
	local saved="$PACBENCH_CACHE/tidy-$(pwd | tr / _)"
	cp go.mod "$saved.mod"; cp go.sum "$saved.sum"
	go mod tidy
	if ! cmp -s go.mod "$saved.mod" || ! cmp -s go.sum "$saved.sum"; then
		echo "go mod tidy changed $(pwd)/go.mod or go.sum:"; git --no-pager diff -- go.mod go.sum
		cp "$saved.mod" go.mod; cp "$saved.sum" go.sum
		return 1
	fi
}
check_tidy

step "kubernetes manifests and Chaos Mesh objects (tools/kubecheck, its own module)"
# kustomize's Go API, strict decoding into k8s.io/api / Prometheus operator /
# Chaos Mesh types, the API server's create validation, Pod Security
# (restricted), Chaos Mesh's webhook: docs/kubernetes.md#validation.
(
	cd tools/kubecheck
	check_tidy
	go vet ./...
	# shellcheck disable=SC2086
	go test -count=1 -timeout 20m $GOTEST_FLAGS ./...
)

step "prometheus (Debian's 2.x; 3.x built from its Go module, cached)"
PACBENCH_PROMETHEUS_BIN=$(scripts/prometheus.sh install)
export PACBENCH_PROMETHEUS_BIN
PATH=$(dirname "$PACBENCH_PROMETHEUS_BIN"):$PATH
(cd tools/prometheus3 && check_tidy)
PACBENCH_PROMETHEUS3_BIN=$(scripts/prometheus.sh build3)
export PACBENCH_PROMETHEUS3_BIN

step "chromium (headless browser tests of the HTML reports)"
if ! command -v chromium >/dev/null 2>&1 && [[ -z "${PACBENCH_CHROMIUM:-}" ]]; then
	if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
	else
		echo "chromium is not installed and cannot be installed here (not root or no apt-get): its tests fail in CI, skip elsewhere"
	fi
fi
command -v chromium >/dev/null 2>&1 && chromium --version || true
export PACBENCH_ARTIFACTS=${PACBENCH_ARTIFACTS:-$ROOT/test-artifacts}
mkdir -p "$PACBENCH_ARTIFACTS"

step "ferretdb"
# The assignment, not eval "$(…)": a failed start must stop the script here
# (set -e does not see a failing command substitution inside eval's words).
ferretdb_env=$(scripts/ferretdb.sh start)
eval "$ferretdb_env"

step "race detector: packages that need no server"
# shellcheck disable=SC2086
go test -race -count=1 -timeout 20m $GOTEST_FLAGS $RACE_PKGS

step "stage 1: unit and integration tests (etcd, FerretDB, Prometheus, Toxiproxy)"
# shellcheck disable=SC2086
go test -count=1 -timeout 40m $GOTEST_FLAGS $(go list ./... | grep -v /drivers/cassandra)

if [[ "${PACBENCH_SKIP_CASSANDRA:-}" != 1 ]]; then
	step "cassandra: fetch and start a 3-node cluster (under libfaketime, clocks correct until node_clock_skew moves one)"
	scripts/cassandra.sh fetch
	start=$(date +%s)
	export PACBENCH_CASSANDRA_FAKETIME=1
	cassandra_env=$(scripts/cassandra.sh start)
	eval "$cassandra_env"
	echo "cassandra cluster up in $(( $(date +%s) - start ))s"
fi

step "stage 2: Cassandra integration tests"
# shellcheck disable=SC2086
go test -count=1 -timeout 30m $GOTEST_FLAGS ./drivers/cassandra/...
