#!/usr/bin/env bash
# scripts/rss.sh — does pacbench's memory grow with run length? (issue 8)
#
# Builds pacbench, runs one long open-loop run of the real binary against
# its local 3-member etcd cluster (two scenarios side by side, linearizable
# and serializable reads, YCSB-B mix, linearizability sample on), and samples
# the resident set size (VmRSS) of the pacbench process itself — not of the
# etcd members, which are its child processes — every SAMPLE seconds. It
# writes the samples to $OUT/rss.csv and prints, over the measured phase
# (after the warm-up phase; samples taken while the results are written are
# left out), the growth of the median RSS from its first to its last minute
# and the least-squares trend (target: < 5 % over 10 minutes). Not part of the test suite: it takes about
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
# RSS has a GC sawtooth, so single samples mislead: compare the median of
# the first minute with the median of the last minute, and fit a
# least-squares line through every sample.
awk -F, -v steady="$steady" -v end="$end" -v out="$OUT" '
function median(a, k,    i, j, x, b) {
	for (i = 1; i <= k; i++) b[i] = a[i]
	for (i = 2; i <= k; i++) { x = b[i]; for (j = i - 1; j >= 1 && b[j] > x; j--) b[j + 1] = b[j]; b[j + 1] = x }
	return k % 2 ? b[(k + 1) / 2] : (b[k / 2] + b[k / 2 + 1]) / 2
}
NR == 1 || $1 < steady || $1 > end { next }
{ t[++n] = $1 - steady; r[n] = $2 / 1024 }
END {
	if (n < 4) { print "rss.sh: too few samples in the measured phase" > "/dev/stderr"; exit 1 }
	span = t[n]
	for (i = 1; i <= n; i++) {
		if (t[i] < 60) f[++nf] = r[i]
		if (t[i] >= span - 60) l[++nl] = r[i]
		sx += t[i]; sy += r[i]; if (r[i] > mx) mx = r[i]; if (!mn || r[i] < mn) mn = r[i]
	}
	mt = sx / n; my = sy / n
	for (i = 1; i <= n; i++) { num += (t[i] - mt) * (r[i] - my); den += (t[i] - mt) ^ 2 }
	slope = num / den # MiB per second
	mf = median(f, nf); ml = median(l, nl)
	printf "measured phase: %d samples over %d s (CSV: %s/rss.csv)\n", n, span, out
	printf "RSS median, first minute: %.1f MiB; last minute: %.1f MiB; growth %+.1f %%\n", mf, ml, 100 * (ml - mf) / mf
	printf "RSS trend (least squares): %+.3f MiB/min = %+.1f %% per 10 min of the mean %.1f MiB\n", slope * 60, 100 * slope * 600 / my, my
	printf "RSS range in the phase: %.1f–%.1f MiB\n", mn, mx
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
