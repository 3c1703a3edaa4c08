#!/usr/bin/env bash
# prometheus.sh — install the Prometheus servers (and promtool) of pacbench's
# integration tests: Debian's package (2.x) and the 3.x major the compose
# stack ships, built from its Go module (tools/prometheus3, its own go.mod;
# the API only, no web UI). Prometheus itself is started by the tests,
# bound to 127.0.0.1 on a free port, with a temporary config; nothing here
# listens.
#
#   scripts/prometheus.sh install   # apt-get install prometheus if missing; prints the binary path
#   scripts/prometheus.sh path      # prints the binary path (exit 1 if missing)
#   scripts/prometheus.sh build3    # build (or reuse) the 3.x binary; prints its path
#   scripts/prometheus.sh path3     # prints the 3.x binary path (exit 1 if not built)
#   scripts/prometheus.sh env       # prints export lines for the test env vars
#
# Then: export PACBENCH_PROMETHEUS_BIN=$(scripts/prometheus.sh path)
#       export PACBENCH_PROMETHEUS3_BIN=$(scripts/prometheus.sh build3)
#       go test ./dashboards/ ./internal/exporter/
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${PACBENCH_CACHE:-$HOME/.cache/pacbench}
BIN3=$CACHE/bin/prometheus3

find_bin() {
	local b
	for b in "${PACBENCH_PROMETHEUS_BIN:-}" "$(command -v prometheus 2>/dev/null || true)" /usr/bin/prometheus; do
		if [[ -n "$b" && -x "$b" ]]; then
			echo "$b"
			return 0
		fi
	done
	return 1
}

install() {
	if ! find_bin >/dev/null; then
		if [[ $(id -u) -ne 0 ]]; then
			echo "prometheus.sh: need root (or sudo) to apt-get install prometheus" >&2
			exit 1
		fi
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq >&2
		# The package's service is not wanted (the tests start their own
		# instance on loopback); policy-rc.d 101 keeps dpkg from starting it.
		local policy=/usr/sbin/policy-rc.d created=0
		if [[ ! -e $policy ]]; then
			printf '#!/bin/sh\nexit 101\n' >"$policy"
			chmod +x "$policy"
			created=1
		fi
		apt-get install -y -qq --no-install-recommends prometheus >&2
		if [[ $created -eq 1 ]]; then rm -f "$policy"; fi
	fi
	find_bin
}

# version3 is the Prometheus release of the pinned module version: Go module
# v0.MNN.P is Prometheus M.NN.P (v0.305.0 is 3.5.0).
version3() {
	local v
	v=$(grep -oE 'github.com/prometheus/prometheus v0\.[0-9]+\.[0-9]+' "$ROOT/tools/prometheus3/go.mod" | awk '{print $2}')
	local mm=${v#v0.} patch
	patch=${mm#*.}
	mm=${mm%%.*}
	echo "$((mm / 100)).$((mm % 100)).$patch"
}

# stamp3 identifies what the cached 3.x binary was built from.
stamp3() {
	{ cat "$ROOT/tools/prometheus3/go.mod" "$ROOT/tools/prometheus3/go.sum"; version3; } | sha256sum | cut -d' ' -f1
}

# build3 builds github.com/prometheus/prometheus/cmd/prometheus at the
# version pinned in tools/prometheus3/go.mod (a tool directive: the
# command's own go.mod has replace directives, which go install refuses).
build3() {
	command -v go >/dev/null || { echo "prometheus.sh: go is not on PATH" >&2; exit 1; }
	local want
	want=$(stamp3)
	if [[ ! -x $BIN3 || ! -f $BIN3.stamp || $(cat "$BIN3.stamp") != "$want" ]]; then
		echo "prometheus.sh: building Prometheus 3 into $BIN3 (first time: several minutes)" >&2
		mkdir -p "$(dirname "$BIN3")"
		local v=github.com/prometheus/common/version
		(cd "$ROOT/tools/prometheus3" && GOWORK=off go build -trimpath \
			-ldflags "-X $v.Version=$(version3) -X $v.Branch=module -X $v.BuildUser=pacbench" \
			-o "$BIN3.tmp" github.com/prometheus/prometheus/cmd/prometheus) >&2
		mv "$BIN3.tmp" "$BIN3"
		echo "$want" >"$BIN3.stamp"
	fi
	echo "$BIN3"
}

path3() {
	[[ -x $BIN3 && -f $BIN3.stamp && $(cat "$BIN3.stamp") == "$(stamp3)" ]] || return 1
	echo "$BIN3"
}

case "${1:-install}" in
install) install ;;
path) find_bin ;;
build3) build3 ;;
path3) path3 ;;
env)
	bin=$(find_bin)
	echo "export PACBENCH_PROMETHEUS_BIN=$bin"
	if bin3=$(path3); then
		echo "export PACBENCH_PROMETHEUS3_BIN=$bin3"
	fi
	;;
*)
	echo "usage: $0 install|path|build3|path3|env" >&2
	exit 2
	;;
esac
