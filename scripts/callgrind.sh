#!/usr/bin/env bash
# scripts/callgrind.sh — instructions per op of pacbench's hot paths, counted
# by valgrind's callgrind: a regression guard that a loaded, shared machine
# cannot disturb (instruction counts barely move with other load, unlike
# times). docs/performance.md has the figures.
#
#   record path          metrics BenchmarkRecordAt: one read op recorded as
#                        the runner does (latencies, the oracle's verdict,
#                        the checks) plus the session's own write
#   open-loop scheduler  runner BenchmarkOpenLoopPaced/rate=100: the real
#                        engine against a no-op driver, 32 workers, paced at
#                        100 ops/s (the pacer's waits and wake-ups, the
#                        per-op context, the generator, the recorder and the
#                        collector; the Go runtime's own work included)
#
# Each benchmark runs twice under callgrind, with N1 and N2 ops (-benchtime
# Nx); instructions per op = (Ir(N2) − Ir(N1)) / (N2 − N1), so the fixed
# costs (process start, setup, teardown) cancel.
#
#   scripts/callgrind.sh            this working tree
#   scripts/callgrind.sh REV        this tree and REV side by side (REV is
#                                   built in a temporary git worktree with
#                                   this tree's benchmark files, so both run
#                                   the same benchmark code)
#
# Environment: REPEAT [1] runs of each measurement (alternating tree and
# REV), reported as min–max. Needs valgrind (Debian package valgrind). Go's
# asynchronous preemption signals crash callgrind, so it runs with
# GODEBUG=asyncpreemptoff=1; and with GOMAXPROCS=1, so that no idle P spins
# looking for work (how long it spins follows the machine's timing, not
# the code: with GOMAXPROCS=2 the scheduler's count varied 10× run to run).
set -euo pipefail
cd "$(dirname "$0")/.."
REPEAT=${REPEAT:-1}
command -v valgrind >/dev/null || { echo "callgrind.sh: valgrind not found (apt-get install valgrind)" >&2; exit 2; }
tmp=$(mktemp -d /tmp/pacbench-callgrind.XXXXXX)
cleanup() {
	if [[ -d "$tmp/rev" ]]; then git worktree remove --force "$tmp/rev" >/dev/null 2>&1 || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# name|package|benchmark regexp|N1|N2
benches=(
	"record path|./metrics|^BenchmarkRecordAt\$|100000|300000"
	"open-loop scheduler|./internal/runner|^BenchmarkOpenLoopPaced/rate=100\$|200|600"
)
bench_files=(metrics/bench_test.go internal/runner/bench_test.go)

# build DIR LABEL: the test binaries of the tree at DIR into $tmp/LABEL.
build() {
	local dir=$1 label=$2
	mkdir -p "$tmp/$label"
	for b in "${benches[@]}"; do
		IFS='|' read -r _ pkg _ _ _ <<<"$b"
		(cd "$dir" && go test -c -o "$tmp/$label/$(basename "$pkg").test" "$pkg")
	done
}

# ir BIN REGEXP N: instructions callgrind counted for N ops.
ir() {
	local out
	out=$(GODEBUG=asyncpreemptoff=1 GOMAXPROCS=1 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
		"$1" -test.run '^$' -test.bench "$2" -test.benchtime "${3}x" 2>&1) || { echo "$out" >&2; return 1; }
	sed -n 's/.*Collected : \([0-9]*\).*/\1/p' <<<"$out"
}

labels=(tree)
build . tree
if [[ $# -ge 1 ]]; then
	rev=$(git rev-parse --verify "$1^{commit}")
	git worktree add --detach "$tmp/rev" "$rev" >/dev/null 2>&1
	for f in "${bench_files[@]}"; do cp "$f" "$tmp/rev/$f"; done
	build "$tmp/rev" rev
	labels+=(rev)
fi

declare -A per
for ((i = 1; i <= REPEAT; i++)); do
	for b in "${benches[@]}"; do
		IFS='|' read -r name pkg re n1 n2 <<<"$b"
		for l in "${labels[@]}"; do
			bin="$tmp/$l/$(basename "$pkg").test"
			a=$(ir "$bin" "$re" "$n1") z=$(ir "$bin" "$re" "$n2")
			per["$name|$l"]+="$(((z - a) / (n2 - n1))) "
		done
	done
done

range() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print (lo == hi ? lo : lo "–" hi) }'; }
echo "instructions per op (callgrind; $REPEAT run(s) each; load average $(cut -d' ' -f1-3 /proc/loadavg))"
echo "tree: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . 2>/dev/null || echo ' + uncommitted changes')${rev:+; rev: $(git rev-parse --short "$rev")}"
echo
if [[ ${#labels[@]} -eq 2 ]]; then
	echo "| path | ops counted | tree | rev | tree / rev (lowest of each) |"
	echo "|---|---|---|---|---|"
else
	echo "| path | ops counted | tree |"
	echo "|---|---|---|"
fi
for b in "${benches[@]}"; do
	IFS='|' read -r name _ _ n1 n2 <<<"$b"
	row="| $name | $((n2 - n1)) | $(range "${per[$name|tree]}")"
	if [[ ${#labels[@]} -eq 2 ]]; then
		t=$(tr ' ' '\n' <<<"${per[$name|tree]}" | grep . | sort -n | head -1)
		r=$(tr ' ' '\n' <<<"${per[$name|rev]}" | grep . | sort -n | head -1)
		row+=" | $(range "${per[$name|rev]}") | $(awk -v t="$t" -v r="$r" 'BEGIN { printf "%.3f", t / r }')"
	fi
	echo "$row |"
done
