#!/usr/bin/env bash
# prometheus.sh — install a local Prometheus (and promtool) for pacbench's
# integration tests. Prometheus itself is started by the tests, bound to
# 127.0.0.1 on a free port, with a temporary config; nothing here listens.
#
#   scripts/prometheus.sh install   # apt-get install prometheus if missing; prints the binary path
#   scripts/prometheus.sh path      # prints the binary path (exit 1 if missing)
#   scripts/prometheus.sh env       # prints export lines for the test env vars
#
# Then: export PACBENCH_PROMETHEUS_BIN=$(scripts/prometheus.sh path)
#       go test ./dashboards/ ./internal/exporter/
set -euo pipefail

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

case "${1:-install}" in
install) install ;;
path) find_bin ;;
env)
	bin=$(find_bin)
	echo "export PACBENCH_PROMETHEUS_BIN=$bin"
	;;
*)
	echo "usage: $0 install|path|env" >&2
	exit 2
	;;
esac
