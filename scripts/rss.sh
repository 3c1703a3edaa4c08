#!/usr/bin/env bash
# scripts/rss.sh — does pacbench's memory grow with run length? (issue 8)
#
# Builds pacbench, runs one long open-loop run of the real binary against
# its local 3-member etcd cluster (two scenarios side by side, linearizable
# and serializable reads, YCSB-B mix, linearizability sample on), and samples
# the resident set size (VmRSS) of the pacbench process itself — not of the
# etcd members, which are its child processes — every SAMPLE seconds. It
# writes the samples to $OUT/rss.csv and prints the growth between the start
# of the measured phase (after the warm-up phase) and the end of the run
# (target: < 5 % over 10 minutes); samples after the phase (results being
# written) are left out. Not part of the test suite: it takes about
# WARMUP + DURATION + 20 s.
#
# Environment (defaults in brackets):
#   DURATION  measured time after warm-up, Go duration [10m]
#   WARMUP    warm-up phase [60s]
#   RATE      open-loop target per scenario in ops/s [1000] (two scenarios)
#   SAMPLE    seconds between RSS samples [5]
#   OUT       output directory [a new temp dir]
#
# Example: DURATION=5m scripts/rss.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10m}
WARMUP=${WARMUP:-60s}
RATE=${RATE:-1000}
SAMPLE=${SAMPLE:-5}
OUT=${OUT:-$(mktemp -d /tmp/pacbench-rss.XXXXXX)}
mkdir -p "$OUT"

to_s() { # Go duration made of h, m, s parts → whole seconds
	local d=$1 total=0
	while [[ $d =~ ^([0-9]+)([hms])(.*)$ ]]; do
		case ${BASH_REMATCH[2]} in
		h) total=$((total + 3600 * BASH_REMATCH[1])) ;;
		m) total=$((total + 60 * BASH_REMATCH[1])) ;;
		s) total=$((total + BASH_REMATCH[1])) ;;
		esac
		d=${BASH_REMATCH[3]}
	done
	[[ -z $d ]] || { echo "rss.sh: cannot parse duration '$1' (use h, m, s)" >&2; exit 2; }
	echo "$total"
}
dur_s=$(to_s "$DURATION")

go build -o "$OUT/pacbench" ./cmd/pacbench
cat >"$OUT/rss.yaml" <<EOF
name: rss
description: long open-loop run for the RSS measurement (scripts/rss.sh)
seed: 1
system: {driver: etcd, cluster: local, members: 3, op_timeout: 1s}
workload: {preset: b, records: 1000, value_size: 128}
load: {model: open, workers: 16, rate: $RATE}
routes: {read: follower, write: leader}
levels:
  - {name: linearizable, read: linearizable}
  - {name: serializable, read: serializable}
phases:
  - {name: warmup, duration: $WARMUP}
  - {name: steady, duration: $DURATION}
checks: {linearizable_keys: 4}
EOF

# stderr (run log and progress) is timestamped, to find when the measured
# phase started.
"$OUT/pacbench" run --profile "$OUT/rss.yaml" --out "$OUT/results" --metrics-addr off \
	>"$OUT/run.out" 2> >(while IFS= read -r l; do printf '%s %s\n' "$(date +%s)" "$l"; done >"$OUT/run.err") &
PID=$!
# Stop only the process this script started (its members die with it).
trap 'kill "$PID" 2>/dev/null || true' EXIT

echo "epoch_s,rss_kib" >"$OUT/rss.csv"
while kill -0 "$PID" 2>/dev/null; do
	rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$PID/status" 2>/dev/null || true)
	[[ -n $rss ]] && echo "$(date +%s),$rss" >>"$OUT/rss.csv"
	sleep "$SAMPLE"
done
trap - EXIT
if ! wait "$PID"; then
	echo "rss.sh: pacbench run failed; see $OUT/run.err" >&2
	tail -20 "$OUT/run.err" >&2
	exit 1
fi
sleep 1 # let the stderr timestamper finish
steady=$(awk '/phase steady/ {print $1; exit}' "$OUT/run.err")
[[ -n $steady ]] || { echo "rss.sh: no 'phase steady' line in $OUT/run.err" >&2; exit 1; }

end=$((steady + dur_s))

# Samples inside the measured phase only (not the results writing after it).
awk -F, -v steady="$steady" -v end="$end" -v out="$OUT" '
NR == 1 || $1 > end { next }
{ t[++n] = $1; r[n] = $2 }
END {
	for (i = 1; i <= n; i++) if (t[i] >= steady) { w = i; break }
	if (!w || w == n) { print "rss.sh: no samples in the measured phase" > "/dev/stderr"; exit 1 }
	max = r[w]; for (i = w; i <= n; i++) if (r[i] > max) max = r[i]
	printf "samples: %d (CSV: %s/rss.csv); warm-up and setup before t=%d s\n", n, out, t[w] - t[1]
	printf "RSS at the start of the measured phase: %.1f MiB\n", r[w] / 1024
	printf "RSS at the end:                         %.1f MiB  growth %+.1f %%\n", r[n] / 1024, 100 * (r[n] - r[w]) / r[w]
	printf "RSS max in the measured phase:          %.1f MiB  growth %+.1f %%\n", max / 1024, 100 * (max - r[w]) / r[w]
	printf "measured phase sampled for %d s\n", t[n] - t[w]
}' "$OUT/rss.csv"
res=$(ls -d "$OUT"/results/* 2>/dev/null | head -1)
echo "results: $res"
# The interval log is buffered in memory for the whole run and written at
# the end: its size is the part of the growth that is proportional to the
# run length by design.
if [[ -f $res/intervals.hlog ]]; then
	hlog=$(stat -c %s "$res/intervals.hlog")
	awk -v b="$hlog" -v s="$(($(to_s "$WARMUP") + dur_s))" \
		'BEGIN { printf "intervals.hlog: %.0f KiB for %d s of phases (%.1f KiB/min, held in memory until the run ends)\n", b / 1024, s, b / 1024 / s * 60 }'
fi
