#!/usr/bin/env bash
# scripts/cassandra.sh — a real 3-node Apache Cassandra cluster on loopback,
# with every node<->node and client->node link passing through Toxiproxy.
#
#   scripts/cassandra.sh fetch    download Cassandra (Maven Central) + build toxiproxy-server
#   scripts/cassandra.sh start    start Toxiproxy and 3 nodes, wait until all are UN,
#                                 print `export …` lines (use: eval "$(scripts/cassandra.sh start)")
#   scripts/cassandra.sh stop     stop the nodes (SIGTERM, then SIGKILL after 60 s) and Toxiproxy
#   scripts/cassandra.sh status   show processes and `nodetool status`; exit 0 iff all are up
#   scripts/cassandra.sh env      print the `export …` lines
#   scripts/cassandra.sh clean    stop, then delete the cluster's data directory
#   scripts/cassandra.sh pid N    print node N's process id; exit 1 if it is not running
#   scripts/cassandra.sh start-node N
#                                 start node N again if it is not running (same data,
#                                 same addresses) and wait until its CQL port serves
#                                 (pacbench's kill fault restarts a node with it)
#   scripts/cassandra.sh clock N [OFFSET]
#                                 print node N's clock offset in seconds ("+0", "-0.5"), or set it
#                                 to OFFSET (a signed number of seconds); needs a cluster started
#                                 with PACBENCH_CASSANDRA_FAKETIME=1 (pacbench's node_clock_skew)
#
# Layout (node N = 1, 2, 3):
#   Cassandra binds           127.0.0.N:7000 (storage)  127.0.0.N:9042 (CQL)
#   broadcast_address         127.0.1.N  -> Toxiproxy "cassandraN-peer"   127.0.1.N:7000 -> 127.0.0.N:7000
#   broadcast_rpc_address     127.0.1.N  -> Toxiproxy "cassandraN-client" 127.0.1.N:9042 -> 127.0.0.N:9042
#   JMX (nodetool)            127.0.0.1:719N (local only)
#   Toxiproxy API             $PACBENCH_CASSANDRA_TOXIPROXY (default 127.0.0.1:8474)
# Since Cassandra (4.0+) sends messages to a peer only on a connection it
# dialled to that peer's broadcast address, everything sent *to* node N by
# its peers flows upstream through cassandraN-peer.
#
# Environment:
#   PACBENCH_CACHE                  download cache (default ~/.cache/pacbench)
#   PACBENCH_CASSANDRA_VERSION      cassandra-all version (default 5.0.9)
#   PACBENCH_CASSANDRA_DIR          node data, logs and pid files (default ${TMPDIR:-/tmp}/pacbench-cassandra)
#   PACBENCH_CASSANDRA_HEAP         max heap per node (default 512m; initial heap is 256m)
#   PACBENCH_CASSANDRA_TOXIPROXY    Toxiproxy API host:port (default 127.0.0.1:8474)
#   PACBENCH_CASSANDRA_START_TIMEOUT seconds to wait for the cluster (default 300)
#   PACBENCH_CASSANDRA_FAKETIME     1: run each node under libfaketime (Debian's faketime package,
#                                   installed when missing and root), its wall clock offset by the
#                                   signed seconds in $PACBENCH_CASSANDRA_DIR/nodeN/faketime.rc
#                                   ("+0" at start; `clock N OFFSET` changes it, read by the node
#                                   within 2 s: FAKETIME_CACHE_DURATION=1). Only the wall clock
#                                   (CLOCK_REALTIME: what server-side write timestamps come from)
#                                   moves; the monotonic clock is left alone
#   JAVA_HOME                       a Java 17 (default: first /usr/lib/jvm/*17*)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
tmpl="$here/cassandra"

version=${PACBENCH_CASSANDRA_VERSION:-5.0.9}
cache=${PACBENCH_CACHE:-$HOME/.cache/pacbench}
home="$cache/cassandra-$version"
lib="$home/lib"
dir=${PACBENCH_CASSANDRA_DIR:-${TMPDIR:-/tmp}/pacbench-cassandra}
heap=${PACBENCH_CASSANDRA_HEAP:-512m}
toxi_addr=${PACBENCH_CASSANDRA_TOXIPROXY:-127.0.0.1:8474}
start_timeout=${PACBENCH_CASSANDRA_START_TIMEOUT:-300}
nodes=(1 2 3)
# Evenly spaced Murmur3 tokens, one per node: no token allocation, no bootstrap.
tokens=(-9223372036854775808 -3074457345618258603 3074457345618258602)

log() { printf 'cassandra.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

listen_ip() { echo "127.0.0.$1"; }
proxy_ip() { echo "127.0.1.$1"; }
jmx_port() { echo "719$1"; }

# ---------------------------------------------------------------- tools

find_java() {
	if [[ -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/java ]] && "$JAVA_HOME/bin/java" -version 2>&1 | grep -q 'version "17'; then
		echo "$JAVA_HOME/bin/java"
		return
	fi
	local j
	for j in /usr/lib/jvm/*17*/bin/java; do
		if [[ -x $j ]]; then
			echo "$j"
			return
		fi
	done
	return 1
}

# apt_install PACKAGE: install it with apt-get when root (updating the
# package lists if the first try fails); false when it cannot.
apt_install() {
	[[ $(id -u) == 0 ]] && command -v apt-get >/dev/null || return 1
	log "installing $1"
	apt-get install -y -q "$1" >&2 || { apt-get update -q >&2 && apt-get install -y -q "$1" >&2; }
}

need_java() {
	java=$(find_java) && return
	apt_install openjdk-17-jre-headless && java=$(find_java) && return
	die "no Java 17 found (set JAVA_HOME or install openjdk-17-jre-headless)"
}

need_mvn() {
	command -v mvn >/dev/null && return
	apt_install maven && command -v mvn >/dev/null && return
	die "mvn not found (install maven)"
}

# find_faketime prints the path of libfaketime (the default build: the MT one
# serialises every clock call behind a mutex and two sigprocmask calls,
# 2.4 µs against 0.3 µs a call here, and a JVM reads its clocks constantly).
find_faketime() {
	local f
	for f in /usr/lib/*/faketime/libfaketime.so.1 /usr/lib/faketime/libfaketime.so.1 /usr/local/lib/faketime/libfaketime.so.1; do
		if [[ -f $f ]]; then
			echo "$f"
			return
		fi
	done
	return 1
}

need_faketime() {
	faketime_lib=$(find_faketime) && return
	apt_install faketime && faketime_lib=$(find_faketime) && return
	die "PACBENCH_CASSANDRA_FAKETIME=1 needs libfaketime (install the faketime package)"
}

faketime_file() { echo "$dir/node$1/faketime.rc"; }

# offset_ok OFFSET: a signed number of seconds, as libfaketime reads it.
offset_ok() { [[ $1 =~ ^[+-][0-9]{1,6}(\.[0-9]{1,6})?$ ]]; }

toxiproxy_bin() {
	local v
	v=$(cd "$repo" && go list -m -f '{{.Version}}' github.com/Shopify/toxiproxy/v2)
	echo "$cache/bin/toxiproxy-server-$v"
}

# ---------------------------------------------------------------- fetch

cmd_fetch() {
	if [[ ! -f $lib/cassandra-all-$version.jar || ! -f $home/.complete ]]; then
		need_mvn
		need_java
		log "fetching cassandra-all $version and its dependencies from Maven Central into $lib"
		rm -rf "$lib"
		mkdir -p "$lib"
		JAVA_HOME=$(dirname "$(dirname "$java")") mvn -q -B -f "$tmpl/pom.xml" \
			-Dcassandra.version="$version" \
			-Dmaven.repo.local="$cache/m2" \
			org.apache.maven.plugins:maven-dependency-plugin:3.11.0:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$lib" >&2 ||
			die "maven could not resolve cassandra-all $version"
		touch "$home/.complete"
	fi
	local tp
	tp=$(toxiproxy_bin)
	if [[ ! -x $tp ]]; then
		log "building $(basename "$tp") from the Go module"
		mkdir -p "$(dirname "$tp")"
		(cd "$repo" && go build -o "$tp" github.com/Shopify/toxiproxy/v2/cmd/server) || die "go build toxiproxy server failed"
	fi
}

# ---------------------------------------------------------------- processes

# pid_alive pidfile: the recorded process runs and is ours: it lives in
# this network namespace and its command line names this cluster (the
# node's storage directory, or this Toxiproxy's port). Process ids are
# shared by every namespace on the machine, so a pid file surviving a
# reboot, or naming a process since reused by another cluster (another
# engineer's namespace), never makes us signal someone else's process.
pid_alive() {
	local pid want
	[[ -f $1 ]] || return 1
	pid=$(cat "$1")
	case $1 in
	*/node?/cassandra.pid) want="-Dcassandra.storagedir=$(dirname "$1")" ;;
	*) want="toxiproxy-server.*-port.${toxi_addr##*:}" ;;
	esac
	kill -0 "$pid" 2>/dev/null || return 1
	[[ $(readlink "/proc/$pid/ns/net" 2>/dev/null) == "$(readlink /proc/self/ns/net)" ]] || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qE -- "$want( |$)"
}
node_pidfile() { echo "$dir/node$1/cassandra.pid"; }

# await_exec pidfile name: wait until the process just started in the
# background has become the program (bash forks, then setsid execs it: until
# then its command line is the script's, and pid_alive would call a starting
# node dead — on a loaded machine that window is long enough to be hit).
# Fails, with the exit status, if it exits first.
await_exec() {
	local pf=$1 pid rc=0 i
	pid=$(cat "$pf")
	for ((i = 0; i < 600; i++)); do
		pid_alive "$pf" && return 0
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid" 2>/dev/null || rc=$?
			die "$2 did not start: $(exit_status "$rc")"
		fi
		sleep 0.1
	done
	die "$2 (pid $pid) did not become $2 within 60s"
}
toxi_pidfile() { echo "$dir/toxiproxy.pid"; }

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

toxi_api() { # method path [json]
	local url="http://$toxi_addr$2"
	if [[ $# -ge 3 ]]; then
		curl -fsS -m 10 -X "$1" -H 'Content-Type: application/json' -d "$3" "$url"
	else
		curl -fsS -m 10 -X "$1" "$url"
	fi
}

proxies_json() {
	local n sep="" out="["
	for n in "${nodes[@]}"; do
		out+="$sep{\"name\":\"cassandra$n-peer\",\"listen\":\"$(proxy_ip "$n"):7000\",\"upstream\":\"$(listen_ip "$n"):7000\",\"enabled\":true}"
		sep=","
		out+="$sep{\"name\":\"cassandra$n-client\",\"listen\":\"$(proxy_ip "$n"):9042\",\"upstream\":\"$(listen_ip "$n"):9042\",\"enabled\":true}"
	done
	echo "$out]"
}

start_toxiproxy() {
	local pf tp
	pf=$(toxi_pidfile)
	if ! pid_alive "$pf"; then
		if toxi_api GET /version >/dev/null 2>&1; then
			die "something else already serves a Toxiproxy API on $toxi_addr (set PACBENCH_CASSANDRA_TOXIPROXY)"
		fi
		tp=$(toxiproxy_bin)
		log "starting Toxiproxy on $toxi_addr"
		LOG_LEVEL=warn setsid "$tp" -host "${toxi_addr%:*}" -port "${toxi_addr##*:}" \
			>"$dir/toxiproxy.log" 2>&1 </dev/null &
		echo $! >"$pf"
		started+=("$pf")
		await_exec "$pf" toxiproxy
		local i
		for ((i = 0; i < 100; i++)); do
			toxi_api GET /version >/dev/null 2>&1 && break
			pid_alive "$pf" || die "toxiproxy exited: $(tail -5 "$dir/toxiproxy.log")"
			sleep 0.1
		done
	fi
	# (Re)create the proxies and heal them: a started cluster has clean links.
	toxi_api POST /populate "$(proxies_json)" >/dev/null || die "toxiproxy populate failed"
	toxi_api POST /reset >/dev/null || die "toxiproxy reset failed"
}

write_config() {
	local n=$1 nd="$dir/node$1"
	mkdir -p "$nd/conf" "$nd/logs"
	sed -e "s|@TOKEN@|${tokens[$((n - 1))]}|" \
		-e "s|@SEEDS@|$(proxy_ip 1):7000|" \
		-e "s|@LISTEN@|$(listen_ip "$n")|g" \
		-e "s|@BROADCAST@|$(proxy_ip "$n")|g" \
		-e "s|@DIR@|$nd|g" \
		"$tmpl/cassandra.yaml.in" >"$nd/conf/cassandra.yaml"
}

start_node() {
	local n=$1 nd="$dir/node$1" pf
	pf=$(node_pidfile "$n")
	if pid_alive "$pf"; then
		return
	fi
	local port
	for port in 7000 9042; do
		if port_open "$(listen_ip "$n")" "$port"; then
			die "$(listen_ip "$n"):$port is already in use by another process (another Cassandra, or the compose stack?)"
		fi
	done
	write_config "$n"
	local opts=() jamm
	mapfile -t opts < <(grep -E '^-' "$tmpl/jvm-server.options")
	jamm=$(find "$lib" -name 'jamm-*.jar' | head -1)
	[[ -n $jamm ]] || die "no jamm jar in $lib (run: $0 fetch)"
	local pre=()
	if [[ ${PACBENCH_CASSANDRA_FAKETIME:-} == 1 ]]; then
		need_faketime
		# A (re)started node keeps the offset its file holds: a kill during
		# a skew restarts skewed, and the heal resets the file.
		[[ -f $(faketime_file "$n") ]] || echo "+0" >"$(faketime_file "$n")"
		pre=(env LD_PRELOAD="$faketime_lib" FAKETIME_TIMESTAMP_FILE="$(faketime_file "$n")"
			FAKETIME_CACHE_DURATION=1 FAKETIME_DONT_FAKE_MONOTONIC=1 FAKETIME_FORCE_MONOTONIC_FIX=0)
	fi
	log "starting node $n ($(listen_ip "$n"), broadcast $(proxy_ip "$n"))${pre:+ under libfaketime (clock $(cat "$(faketime_file "$n")") s)}"
	[[ -s $nd/logs/stdout.log ]] && mv -f "$nd/logs/stdout.log" "$nd/logs/stdout.log.1"
	setsid "${pre[@]}" "$java" "${opts[@]}" \
		-Xms256m -Xmx"$heap" -XX:MaxDirectMemorySize=256m \
		-javaagent:"$jamm" \
		-Dcassandra.config="file://$nd/conf/cassandra.yaml" \
		-Dcassandra.storagedir="$nd" \
		-Dcassandra.logdir="$nd/logs" \
		-Dlogback.configurationFile="$tmpl/logback.xml" \
		-Dcassandra.jmx.local.port="$(jmx_port "$n")" \
		-Dcassandra-foreground=yes \
		-cp "$nd/conf:$lib/*" \
		org.apache.cassandra.service.CassandraDaemon \
		>"$nd/logs/stdout.log" 2>&1 </dev/null &
	echo $! >"$pf"
	started+=("$pf")
	await_exec "$pf" "node $n"
}

wait_cql() { # node deadline
	local n=$1 deadline=$2 pf
	pf=$(node_pidfile "$n")
	until port_open "$(listen_ip "$n")" 9042; do
		if ! pid_alive "$pf"; then
			local rc=0
			wait "$(cat "$pf")" 2>/dev/null || rc=$?
			tail -20 "$dir/node$n/logs/stdout.log" >&2 || true
			tail -5 "$dir/node$n/logs/system.log" >&2 || true
			die "node $n exited during start-up: $(exit_status "$rc") (logs: $dir/node$n/logs)"
		fi
		((SECONDS < deadline)) || die "node $n: CQL port not open after ${start_timeout}s (logs: $dir/node$n/logs)"
		sleep 1
	done
}

nodetool() { # node args…
	local n=$1
	shift
	local opts=()
	mapfile -t opts < <(grep -E '^--add-|^-Djdk.attach' "$tmpl/jvm-server.options")
	"$java" -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 "${opts[@]}" \
		-Dlogback.configurationFile="$tmpl/logback-tools.xml" \
		-cp "$lib/*" org.apache.cassandra.tools.NodeTool \
		-h 127.0.0.1 -p "$(jmx_port "$n")" "$@"
}

wait_un() { # deadline: every node sees 3 UN
	local deadline=$1 n up
	for n in "${nodes[@]}"; do
		while :; do
			up=$(nodetool "$n" status 2>/dev/null | grep -c '^UN' || true)
			[[ $up == "${#nodes[@]}" ]] && break
			((SECONDS < deadline)) || die "node $n sees $up/${#nodes[@]} nodes UN after ${start_timeout}s"
			sleep 2
		done
	done
}

all_running() {
	local n
	pid_alive "$(toxi_pidfile)" || return 1
	for n in "${nodes[@]}"; do
		pid_alive "$(node_pidfile "$n")" || return 1
	done
}

cmd_env() {
	local n hosts="" sep=""
	for n in "${nodes[@]}"; do
		hosts+="$sep$(proxy_ip "$n"):9042"
		sep=","
	done
	echo "export PACBENCH_CASSANDRA_HOSTS=$hosts"
	echo "export PACBENCH_TOXIPROXY_API=http://$toxi_addr"
	all_running || log "warning: the cluster is not (fully) running; run: scripts/cassandra.sh start"
}

# exit_status describes the status wait returned for a child.
exit_status() {
	if (($1 > 128)); then
		echo "killed by signal $(($1 - 128)) ($(kill -l $(($1 - 128)) 2>/dev/null || echo '?'))"
	elif (($1 == 127)); then
		echo "exit status unknown (not a child of this shell)"
	else
		echo "exit status $1"
	fi
}

# started lists the pid files of what this invocation started.
started=()

# on_start_failure stops what this start started, so a failed start leaves
# no process of its own behind (logs stay in $dir), and a failed restart
# of one node leaves the others running.
on_start_failure() {
	log "start failed: stopping what this start started (logs: $dir/node*/logs, $dir/toxiproxy.log)"
	local pf
	for pf in "${started[@]}"; do
		case $pf in
		*/node?/*) stop_pid "$pf" "$(basename "$(dirname "$pf")")" ;;
		*) stop_pid "$pf" toxiproxy ;;
		esac
	done
}

cmd_start() {
	local t0=$SECONDS deadline=$((SECONDS + start_timeout)) n
	trap on_start_failure EXIT
	cmd_fetch
	need_java
	mkdir -p "$dir"
	start_toxiproxy
	# A started cluster has correct clocks.
	if [[ ${PACBENCH_CASSANDRA_FAKETIME:-} == 1 ]]; then
		for n in "${nodes[@]}"; do
			mkdir -p "$dir/node$n"
			echo "+0" >"$(faketime_file "$n")"
		done
	fi
	# The seed first; the others join it (no bootstrap: auto_bootstrap=false).
	start_node 1
	wait_cql 1 "$deadline"
	for n in "${nodes[@]:1}"; do
		start_node "$n"
	done
	for n in "${nodes[@]:1}"; do
		wait_cql "$n" "$deadline"
	done
	wait_un "$deadline"
	trap - EXIT
	log "cluster up: ${#nodes[@]} nodes UN in $((SECONDS - t0))s (data: $dir)"
	cmd_env
}

stop_pid() { # pidfile name
	local pf=$1 name=$2 pid i
	pid_alive "$pf" || { rm -f "$pf"; return 0; }
	pid=$(cat "$pf")
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 600; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "$name did not stop in 60s: SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
		while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
	fi
	rm -f "$pf"
	log "stopped $name"
}

cmd_stop() {
	local n
	[[ -d $dir ]] || return 0
	local waits=()
	for n in "${nodes[@]}"; do
		stop_pid "$(node_pidfile "$n")" "node $n" &
		waits+=($!)
	done
	# Wait for these stoppers only: after a failed start the nodes and
	# Toxiproxy are children of this shell too.
	wait "${waits[@]}"
	stop_pid "$(toxi_pidfile)" toxiproxy
}

cmd_status() {
	local n pf rc=0
	pf=$(toxi_pidfile)
	if pid_alive "$pf"; then echo "toxiproxy  running  pid $(cat "$pf")  api http://$toxi_addr"; else echo "toxiproxy  stopped"; rc=3; fi
	for n in "${nodes[@]}"; do
		pf=$(node_pidfile "$n")
		if pid_alive "$pf"; then echo "node$n      running  pid $(cat "$pf")  $(listen_ip "$n") via $(proxy_ip "$n")"; else echo "node$n      stopped"; rc=3; fi
	done
	if pid_alive "$(node_pidfile 1)"; then
		need_java
		nodetool 1 status || rc=3
	fi
	return $rc
}

# node_arg N: check that N names a node.
node_arg() {
	local n
	for n in "${nodes[@]}"; do
		[[ ${1:-} == "$n" ]] && return 0
	done
	log "usage: $0 ${2:-pid} N (N = ${nodes[*]})"
	exit 2
}

cmd_pid() {
	node_arg "${1:-}" pid
	local pf
	pf=$(node_pidfile "$1")
	if ! pid_alive "$pf"; then
		log "node $1 is not running"
		return 1
	fi
	cat "$pf"
}

cmd_start_node() {
	node_arg "${1:-}" start-node
	local n=$1 t0=$SECONDS deadline=$((SECONDS + start_timeout))
	if pid_alive "$(node_pidfile "$n")"; then
		log "node $n is running (pid $(cat "$(node_pidfile "$n")"))"
		return 0
	fi
	[[ -f $lib/cassandra-all-$version.jar ]] || die "Cassandra is not fetched (run: $0 fetch)"
	[[ -f $dir/node$n/conf/cassandra.yaml ]] || die "node $n was never started here (run: $0 start)"
	need_java
	trap on_start_failure EXIT
	start_node "$n"
	wait_cql "$n" "$deadline"
	trap - EXIT
	log "node $n up: CQL serving in $((SECONDS - t0))s"
}

# cmd_clock N [OFFSET]: print or set node N's clock offset (libfaketime).
# A node running without libfaketime is on the machine's clock: its offset
# prints as +0, and setting one is an error.
cmd_clock() {
	node_arg "${1:-}" clock
	local n=$1 f pf faked=1
	f=$(faketime_file "$n")
	pf=$(node_pidfile "$n")
	if pid_alive "$pf" && ! tr '\0' '\n' <"/proc/$(cat "$pf")/environ" 2>/dev/null | grep -qxF "FAKETIME_TIMESTAMP_FILE=$f"; then
		faked=0
	fi
	if [[ $# -lt 2 ]]; then
		if [[ $faked == 1 && -f $f ]]; then cat "$f"; else echo "+0"; fi
		return
	fi
	offset_ok "$2" || { log "usage: $0 clock N [OFFSET]: OFFSET is signed seconds (+0, -0.5, +3), got ${2@Q}"; exit 2; }
	[[ $faked == 1 && -f $f ]] || die "node $n runs without libfaketime: start the cluster with PACBENCH_CASSANDRA_FAKETIME=1 to skew its clock"
	echo "$2" >"$f.tmp" && mv -f "$f.tmp" "$f"
	log "node $n clock offset: $2 s (in effect within 2 s)"
}

cmd_clean() {
	cmd_stop
	rm -rf "$dir"
	log "removed $dir"
}

case ${1:-} in
fetch) cmd_fetch ;;
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
env) cmd_env ;;
clean) cmd_clean ;;
pid) cmd_pid "${2:-}" ;;
start-node) cmd_start_node "${2:-}" ;;
clock) shift; cmd_clock "$@" ;;
*)
	sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac
