#!/usr/bin/env bash
# scripts/rss-sweep.sh — does pacbench's memory grow with the worker count or
# the series count? (issue 18)
#
# Builds internal/tools/rsssweep (the real engine — pacer, generator,
# recorder, checks, collector — against the in-memory fake driver with a
# 1 ms service time, open loop at RATE ops/s per scenario) and runs one
# process per configuration, REPEAT times, alternating the configurations,
# and prints the peak RSS (VmHWM) of each as min–max in MiB, with the
# goroutine stacks and heap in use at 80 % of the run.
#
#   workers: 16, 128, 1024 workers, one scenario, one phase, read+write
#            (2 series)
#   series:  1 (one scenario, one phase, reads), 8 (2 scenarios × 2 phases
#            × read, write), 64 (4 scenarios × 8 phases × read, write), 16
#            workers in all (split over the scenarios)
#
# Environment (defaults in brackets): RATE [2000], DURATION per run [6s],
# REPEAT [3]. About REPEAT × 6 × DURATION in all.
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${RATE:-2000}
DURATION=${DURATION:-6s}
REPEAT=${REPEAT:-3}
bin=$(mktemp -d /tmp/pacbench-rss-sweep.XXXXXX)/rsssweep
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./internal/tools/rsssweep

configs=(
	"workers 16|-workers 16"
	"workers 128|-workers 128"
	"workers 1024|-workers 1024"
	"series 1|-workers 16 -ops read"
	"series 8|-workers 8 -scenarios 2 -phases 2"
	"series 64|-workers 4 -scenarios 4 -phases 8"
)
declare -A rss stacks heap
for ((i = 1; i <= REPEAT; i++)); do
	for c in "${configs[@]}"; do
		name=${c%%|*} args=${c#*|}
		# shellcheck disable=SC2086
		out=$("$bin" $args -rate "$RATE" -duration "$DURATION")
		get() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$out"; }
		rss[$name]+="$(get peak_rss_mib) " stacks[$name]+="$(get stacks_mib) " heap[$name]+="$(get heap_inuse_mib) "
	done
done
range() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print (lo == hi ? lo : lo "–" hi) }'; }
echo "load average $(cut -d' ' -f1-3 /proc/loadavg); $REPEAT runs each, alternating; ${RATE} ops/s per scenario, $DURATION"
echo
echo "| configuration | peak RSS MiB | goroutine stacks MiB | heap in use MiB |"
echo "|---|---|---|---|"
for c in "${configs[@]}"; do
	name=${c%%|*}
	echo "| $name | $(range "${rss[$name]}") | $(range "${stacks[$name]}") | $(range "${heap[$name]}") |"
done
