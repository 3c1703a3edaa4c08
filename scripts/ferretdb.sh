#!/usr/bin/env bash
# ferretdb.sh — a local FerretDB v1 (SQLite backend) on loopback: a real
# MongoDB-wire server for pacbench's MongoDB driver tests on machines without
# mongod or Docker. FerretDB is built from the wrapper module tools/ferretdb
# (its own go.mod, so FerretDB's dependencies stay out of pacbench's).
#
# Usage: scripts/ferretdb.sh {build|start|stop|status|env}
#   build   build (or reuse) ${PACBENCH_CACHE:-$HOME/.cache/pacbench}/bin/ferretdb
#   start   build, start on $PACBENCH_FERRETDB_ADDR (default 127.0.0.1:27018)
#           with SQLite data in a fresh temp dir, wait until it accepts
#           connections, print the export line:
#             eval "$(scripts/ferretdb.sh start)"
#   stop    stop the server started by `start` and delete its data dir
#   status  exit 0 if it is running
#   env     print the export line
# Diagnostics go to stderr; stdout carries only the export line.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${PACBENCH_CACHE:-$HOME/.cache/pacbench}
BIN=$CACHE/bin/ferretdb
ADDR=${PACBENCH_FERRETDB_ADDR:-127.0.0.1:27018}
HOST=${ADDR%:*}
PORT=${ADDR##*:}
STATE=$CACHE/ferretdb/$PORT
START_TIMEOUT=${PACBENCH_FERRETDB_START_TIMEOUT:-30}

log() { echo "ferretdb.sh: $*" >&2; }
die() { log "$*"; exit 1; }

case $HOST in
127.* | localhost) ;;
*) die "PACBENCH_FERRETDB_ADDR=$ADDR: only loopback addresses are allowed" ;;
esac

# stamp identifies the wrapper sources the cached binary was built from.
stamp() {
	cat "$ROOT/tools/ferretdb/go.mod" "$ROOT/tools/ferretdb/go.sum" "$ROOT"/tools/ferretdb/*.go |
		sha256sum | cut -d' ' -f1
}

build() {
	command -v go >/dev/null || die "go is not on PATH"
	local want
	want=$(stamp)
	if [[ -x $BIN && -f $BIN.stamp && $(cat "$BIN.stamp") == "$want" ]]; then
		return 0
	fi
	log "building FerretDB into $BIN (first time: about a minute)"
	mkdir -p "$(dirname "$BIN")"
	(cd "$ROOT/tools/ferretdb" && GOWORK=off go build -trimpath -o "$BIN.tmp" .) ||
		die "build failed"
	mv "$BIN.tmp" "$BIN"
	echo "$want" >"$BIN.stamp"
}

# running: the recorded server runs and is ours: in this network namespace,
# listening where we asked (process ids are shared by every namespace, so
# a stale pid file never makes us signal another engineer's server).
running() {
	local pid
	[[ -f $STATE/pid ]] || return 1
	pid=$(cat "$STATE/pid")
	kill -0 "$pid" 2>/dev/null || return 1
	[[ $(readlink "/proc/$pid/ns/net" 2>/dev/null) == "$(readlink /proc/self/ns/net)" ]] || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "-listen $ADDR "
}

listening() {
	(exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null
}

print_env() {
	echo "export PACBENCH_MONGODB_URI=mongodb://$ADDR/"
}

start() {
	build
	if running; then
		log "already running (pid $(cat "$STATE/pid"))"
		print_env
		return 0
	fi
	listening && die "$ADDR is already in use by another process"
	mkdir -p "$STATE"
	local data
	data=$(mktemp -d "${TMPDIR:-/tmp}/pacbench-ferretdb.XXXXXX")
	echo "$data" >"$STATE/data"
	setsid "$BIN" -listen "$ADDR" -data "$data" -log-level "${PACBENCH_FERRETDB_LOG_LEVEL:-warn}" \
		</dev/null >"$STATE/log" 2>&1 &
	echo $! >"$STATE/pid"
	local deadline=$((SECONDS + START_TIMEOUT))
	# Alive, not running(): until setsid has exec'd FerretDB the child's
	# command line is this script's, and on a loaded machine that window
	# is long enough to call a starting server dead.
	local pid rc=0
	pid=$(cat "$STATE/pid")
	until listening; do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid" 2>/dev/null || rc=$?
			cat "$STATE/log" >&2
			die "FerretDB exited during start-up with status $rc (log above)"
		fi
		((SECONDS < deadline)) || { stop; die "FerretDB did not listen on $ADDR within ${START_TIMEOUT}s"; }
		sleep 0.2
	done
	log "FerretDB listening on $ADDR (pid $(cat "$STATE/pid"), data $data, log $STATE/log)"
	print_env
}

stop() {
	if running; then
		local pid
		pid=$(cat "$STATE/pid")
		kill -TERM "$pid"
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			log "pid $pid ignored SIGTERM; killing it"
			kill -KILL "$pid" 2>/dev/null || true
		fi
		log "stopped pid $pid"
	elif [[ -f $STATE/pid ]] && kill -0 "$(cat "$STATE/pid")" 2>/dev/null; then
		log "pid $(cat "$STATE/pid") recorded in $STATE is not this namespace's FerretDB on $ADDR: leaving it and its data alone"
		return 0
	fi
	if [[ -f $STATE/data ]]; then
		local data
		data=$(cat "$STATE/data")
		[[ $data == */pacbench-ferretdb.* ]] && rm -rf -- "$data"
	fi
	rm -f "$STATE/pid" "$STATE/data"
}

case ${1:-} in
build) build && log "built $BIN" ;;
start) start ;;
stop) stop ;;
status) running && log "running (pid $(cat "$STATE/pid"))" || { log "not running"; exit 1; } ;;
env) print_env ;;
*)
	echo "usage: $0 {build|start|stop|status|env}" >&2
	exit 2
	;;
esac
