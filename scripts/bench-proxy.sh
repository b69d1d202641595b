#!/usr/bin/env bash
# Proxy benchmark: Portico's proxy against nginx's proxy_pass and a minimal
# fasthttp forwarder (the Go ceiling), all in front of the same nginx
# upstream that answers `return 200 "ok"`, measured with wrk (keep-alive)
# in alternating rounds in one run, with 1 route and with 1,001 routes.
# Speed is reported as ratios to the peers measured in the same run.
#
#   scripts/bench-proxy.sh                       # 10 s runs, 3 rounds, 1 and 1,001 routes
#   DURATION=3s ROUNDS=1 scripts/bench-proxy.sh  # a quick look
#
# Settings (environment):
#   DURATION=10s  CONNECTIONS=50  THREADS=2  ROUNDS=3  WARMUP=2s (per target and case; 0 skips)
#   ROUTES="1 1001"    route counts to measure, ascending: "/" plus N-1 routes that do not match
#   UPSTREAM_WORKERS=1 nginx worker_processes of the upstream (the proxy nginx uses auto)
#   DIRECT=0           1 also measures wrk straight to the upstream (no proxy), as a reference
#   QUIET_PCT=10 QUIET_WAIT=20  before each measured run, wait up to QUIET_WAIT seconds for a
#                      second in which the machine is less than QUIET_PCT% busy (a shared machine)
#   PORTICO_BIN=       a prebuilt portico binary (default: go build -o bin/portico ./cmd/portico)
#   SKIP_PORTICO=0     1 measures nginx and the forwarder only
#   PLUGINS=0          1 also measures Portico with key-auth and rate-limiting (policy local) on a
#                      service of 100 routes ("portico-plugins": GET /auth with an apikey header),
#                      next to the same Portico without plugins
#   COMPARE=0          1 also runs `portico bench compare` over the same targets (after wrk, same
#                      duration, rounds and connections) and writes its table and latency plot
#                      to OUT/compare-ROUTES.{txt,svg}
#   OUT=/tmp/portico-bench-proxy   results, configs and logs (emptied at the start of a run)
#
# Needs nginx, wrk, curl and go; installs nothing. Everything listens on and
# sends to 127.0.0.1 only. Every process it starts is stopped on exit.
set -euo pipefail

cd "$(dirname "$0")/.."
REPO=$PWD

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-50}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-2s}
ROUTES=${ROUTES:-"1 1001"}
UPSTREAM_WORKERS=${UPSTREAM_WORKERS:-1}
DIRECT=${DIRECT:-0}
PORTICO_BIN=${PORTICO_BIN:-}
QUIET_PCT=${QUIET_PCT:-10}
QUIET_WAIT=${QUIET_WAIT:-20}
SKIP_PORTICO=${SKIP_PORTICO:-0}
COMPARE=${COMPARE:-0}
PLUGINS=${PLUGINS:-0}
OUT=${OUT:-${TMPDIR:-/tmp}/portico-bench-proxy}
GO=${GO:-go}

log() { printf '%s\n' "$*" >&2; }
die() {
	log "bench-proxy: $*"
	exit 1
}

# ---------------------------------------------------------------- checks
missing=()
for tool in nginx wrk curl; do
	command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]})); then
	log "bench-proxy: missing ${missing[*]}; install with:"
	log "  apt-get install -y nginx wrk curl"
	exit 1
fi
command -v "$GO" >/dev/null 2>&1 || die "go is not on PATH (the forwarder and Portico are built with it)"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer"
[[ $QUIET_PCT =~ ^[0-9]+$ && $QUIET_WAIT =~ ^[0-9]+$ ]] || die "QUIET_PCT and QUIET_WAIT must be integers"
prev=0
for n in $ROUTES; do
	if ! [[ $n =~ ^[1-9][0-9]*$ ]] || ((n <= prev)); then
		die "ROUTES must be ascending positive integers, got '$ROUTES'"
	fi
	prev=$n
done

# OUT is emptied, so it must be new, empty or an earlier run's output.
if [[ -e $OUT && -n $(ls -A "$OUT" 2>/dev/null) && ! -e $OUT/bench-proxy-results.txt ]]; then
	die "OUT=$OUT exists and is not an earlier bench-proxy output; choose another OUT"
fi
rm -rf "$OUT"
mkdir -p "$OUT"/{bin,wrk,conf,logs}
OUT=$(cd "$OUT" && pwd)
RESULTS=$OUT/bench-proxy-results.txt
: >"$RESULTS"

# ---------------------------------------------------------------- processes
# Every background process started here, stopped by cleanup on any exit.
declare -A PROCS=() # pid -> name

cleanup() {
	local pid kids=() left i
	trap - EXIT INT TERM
	for pid in "${!PROCS[@]}"; do
		# nginx workers and any other children, in case the parent dies first
		mapfile -t -O "${#kids[@]}" kids < <(pgrep -P "$pid" 2>/dev/null || true)
		kill -TERM "$pid" 2>/dev/null || true
	done
	for i in $(seq 1 50); do
		left=0
		for pid in "${!PROCS[@]}" "${kids[@]}"; do
			kill -0 "$pid" 2>/dev/null && left=1
		done
		((left)) || break
		sleep 0.1
	done
	for pid in "${!PROCS[@]}" "${kids[@]}"; do
		kill -KILL "$pid" 2>/dev/null || true
	done
	wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# stop_proc PID: stop one process started by start_bg (and its children).
stop_proc() {
	local pid=$1 kids i
	mapfile -t kids < <(pgrep -P "$pid" 2>/dev/null || true)
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" "${kids[@]}" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	unset "PROCS[$pid]"
}

# start_bg VAR NAME LOGFILE CMD...: start CMD in the background, its pid in VAR.
start_bg() {
	local -n _pid=$1
	local name=$2 logfile=$3
	shift 3
	"$@" >"$logfile" 2>&1 &
	_pid=$!
	PROCS[$_pid]=$name
}

# run_wait CMD...: run CMD in the background and wait for it, so that a signal
# stops the script at once (bash runs traps only after a foreground command).
run_wait() {
	local pid
	"$@" &
	pid=$!
	PROCS[$pid]=$1
	wait "$pid" || true
	unset "PROCS[$pid]"
}

# free_port VAR: an unused TCP port on 127.0.0.1, below the ephemeral range.
USED_PORTS=" "
free_port() {
	local -n _port=$1
	local p i
	for i in $(seq 1 500); do
		p=$((20000 + RANDOM % 12000))
		[[ $USED_PORTS == *" $p "* ]] && continue
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			USED_PORTS+="$p "
			_port=$p
			return 0
		fi
	done
	die "no free port found on 127.0.0.1"
}

# http_status URL [curl args...]: the status code (000 when nothing answers); body in $OUT/last-body.
http_status() {
	local url=$1
	shift
	curl -s -o "$OUT/last-body" -w '%{http_code}' --max-time 2 "$@" "$url" 2>/dev/null || true
}

# wait_status WANT SECONDS URL [curl args...]: poll until URL answers WANT; sets LAST_STATUS.
LAST_STATUS=000
wait_status() {
	local want=$1 secs=$2 url=$3 deadline
	shift 3
	deadline=$((SECONDS + secs))
	while :; do
		LAST_STATUS=$(http_status "$url" "$@")
		[[ $LAST_STATUS == "$want" ]] && return 0
		((SECONDS >= deadline)) && return 1
		sleep 0.2
	done
}

# alive PID: the process is still running.
alive() { kill -0 "$1" 2>/dev/null; }

# ---------------------------------------------------------------- nginx
# nginx_start VAR NAME CONF: run nginx in the foreground (daemon off) under its own prefix.
nginx_start() {
	local -n _npid=$1
	local name=$2 conf=$3 prefix=$OUT/$2
	mkdir -p "$prefix/logs"
	nginx -t -q -p "$prefix" -e "$prefix/logs/error.log" -c "$conf" || die "$name: nginx -t failed on $conf"
	start_bg _npid "$name" "$OUT/logs/$name.out" nginx -p "$prefix" -e "$prefix/logs/error.log" -c "$conf"
}

common_nginx_head() { # WORKERS NAME
	cat <<EOF
worker_processes $1;
daemon off;
pid $OUT/$2/nginx.pid;
error_log $OUT/$2/logs/error.log warn;
events { worker_connections 4096; }
EOF
}

write_upstream_conf() { # PORT FILE
	{
		common_nginx_head "$UPSTREAM_WORKERS" upstream
		cat <<EOF
http {
    access_log off;
    default_type text/plain;
    keepalive_requests 1000000;   # never close a proxy's kept-alive connection
    keepalive_timeout 300s;
    server {
        listen 127.0.0.1:$1 default_server;
        location / { return 200 "ok"; }
        location /decoy { return 203 "decoy"; }   # what the non-matching routes lead to
    }
}
EOF
	} >"$2"
}

# The routes besides the benchmark's "/": extra route i (1-based) is a host route
# (hosts=svc-i.bench.invalid) when i is odd and a path route (paths=/svc-i/api) when
# even. In Kong's order both kinds are tried before a lone "/" (a host, a longer
# path), and neither matches the benchmark request (GET / with Host 127.0.0.1:port);
# both lead to the upstream's /decoy, which answers 203, so a check can see them.
is_host_route() { (($1 % 2 == 1)); }

# write_proxy_conf PORT UPSTREAM_PORT ROUTES FILE: nginx as the reverse proxy, with the
# same routes as Portico: location / to the upstream, a server_name per host route and
# a location per path route.
write_proxy_conf() {
	local port=$1 up=$2 routes=$3 file=$4 i
	{
		common_nginx_head auto "nginx-proxy-$routes"
		cat <<EOF
http {
    access_log off;
    keepalive_requests 1000000;   # as the Go servers: no reconnect every 1,000 requests
    keepalive_timeout 75s;
    server_names_hash_max_size 8192;
    server_names_hash_bucket_size 128;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    upstream bench_upstream {
        server 127.0.0.1:$up;
        keepalive 64;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:$port default_server;
        location / { proxy_pass http://bench_upstream; }
EOF
		for ((i = 2; i < routes; i += 2)); do
			printf '        location /svc-%d/api { proxy_pass http://bench_upstream/decoy; }\n' "$i"
		done
		printf '    }\n'
		for ((i = 1; i < routes; i += 2)); do
			printf '    server { listen 127.0.0.1:%d; server_name svc-%d.bench.invalid; location / { proxy_pass http://bench_upstream/decoy; } }\n' "$port" "$i"
		done
		printf '}\n'
	} >"$file"
}

# check_decoys BASEURL ROUTES SECONDS: the last host route and the last path route answer
# 203 (the decoy) through the proxy; sets DECOY_PROBLEM when not.
DECOY_PROBLEM=
check_decoys() {
	local base=$1 secs=$3 h=$(($2 - 1)) p=$(($2 - 1))
	DECOY_PROBLEM=
	is_host_route "$h" || h=$((h - 1))
	is_host_route "$p" && p=$((p - 1))
	if ((h >= 1)) && ! wait_status 203 "$secs" "$base/" -H "Host: svc-$h.bench.invalid"; then
		DECOY_PROBLEM="Host: svc-$h.bench.invalid answers $LAST_STATUS, want 203 from the decoy"
	elif ((p >= 2)) && ! wait_status 203 "$secs" "$base/svc-$p/api"; then
		DECOY_PROBLEM="/svc-$p/api answers $LAST_STATUS, want 203 from the decoy"
	fi
	[[ -z $DECOY_PROBLEM ]]
}

# ---------------------------------------------------------------- wrk
CLK_TCK=$(getconf CLK_TCK)

# cpu_ticks PID...: user+system CPU ticks of the processes and their children (nginx workers).
cpu_ticks() {
	local pids=() p total=0 f
	for p in "$@"; do
		pids+=("$p")
		mapfile -t -O "${#pids[@]}" pids < <(pgrep -P "$p" 2>/dev/null || true)
	done
	mapfile -t pids < <(printf '%s\n' "${pids[@]}" | sort -u)
	for p in "${pids[@]}"; do
		f=$(cat "/proc/$p/stat" 2>/dev/null) || continue
		f=${f##*) } # fields after the command name; utime and stime are fields 14 and 15
		read -r -a fs <<<"$f"
		total=$((total + fs[11] + fs[12]))
	done
	echo "$total"
}

# parse_wrk FILE: "rps p99_ms non2xx socket_errors requests" from wrk --latency output.
parse_wrk() {
	awk '
	function ms(v) {
		if (v ~ /us$/) { sub(/us$/, "", v); return v / 1000 }
		if (v ~ /ms$/) { sub(/ms$/, "", v); return v + 0 }
		if (v ~ /m$/)  { sub(/m$/, "", v);  return v * 60000 }
		if (v ~ /s$/)  { sub(/s$/, "", v);  return v * 1000 }
		return -1
	}
	$1 == "99%"               { p99 = ms($2) }
	$1 == "Requests/sec:"     { rps = $2 }
	/requests in/             { reqs = $1 }
	/Non-2xx or 3xx/          { non2xx = $NF }
	/Socket errors/           { gsub(/,/, ""); errs = $4 + $6 + $8 + $10 }
	END { printf "%s %s %d %d %s\n", (rps == "" ? -1 : rps), (p99 == "" ? -1 : p99), non2xx, errs, (reqs == "" ? 0 : reqs) }
	' "$1"
}

# machine_ticks: "busy total" CPU ticks of the whole machine (all CPUs) from /proc/stat;
# busy is user, nice, system and steal: interrupt time (loopback traffic) is nobody's.
machine_ticks() {
	awk '$1 == "cpu" { busy = $2 + $3 + $4 + $9; print busy, busy + $5 + $6 + $7 + $8; exit }' /proc/stat
}

# children_ticks: CPU ticks used by this shell's finished children (wrk), from `times`.
children_ticks() {
	times | awk -v hz="$CLK_TCK" 'NR == 2 {
		t = 0
		for (i = 1; i <= 2; i++) { split($i, ms, "m"); sub(/s$/, "", ms[2]); t += ms[1] * 60 + ms[2] }
		printf "%d\n", t * hz }'
}

# quiet_wait: wait up to QUIET_WAIT seconds for one second in which the machine (all CPUs)
# is less than QUIET_PCT% busy; nothing of this script is under load meanwhile.
quiet_wait() {
	local deadline=$((SECONDS + QUIET_WAIT)) a b busy waited=0
	while :; do
		a=$(machine_ticks)
		sleep 1
		b=$(machine_ticks)
		busy=$(awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); t = y[2] - x[2]; printf "%d", (t > 0 ? 100 * (y[1] - x[1]) / t : 0) }')
		((busy < QUIET_PCT)) && break
		if ((SECONDS >= deadline)); then
			log "  (the machine stayed busy, ${busy}% of all CPUs, for ${QUIET_WAIT}s: measuring anyway)"
			return 0
		fi
		waited=1
	done
	((waited)) && log "  (waited $((SECONDS - deadline + QUIET_WAIT))s for the machine to be quiet)"
	return 0
}

# run_wrk CASE ROUND TARGET PORT PIDS...: one measured run, a line in $RESULTS. Besides
# wrk's figures it records the gateway's CPU per request (PIDS and their children) and
# "other_cpu_pct": the share of the machine's CPU used by anything but wrk, the gateway
# and the upstream during the run (other engineers' builds: 0 on a quiet machine).
run_wrk() {
	local rcase=$1 round=$2 target=$3 port=$4
	shift 4
	local file=$OUT/wrk/routes$rcase-round$round-$target.txt
	local load g0 g1 o0 o1 w0 w1 m0 m1 rps p99 non2xx errs reqs cpu_us other
	quiet_wait
	load=$(cut -d' ' -f1 /proc/loadavg)
	g0=$(cpu_ticks "$@")
	o0=$(cpu_ticks "$@" "$UP_PID")
	w0=$(children_ticks)
	m0=$(machine_ticks)
	wrk_request "$target" "$port"
	run_wait wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "${REQUEST[@]}" >"$file" 2>&1
	m1=$(machine_ticks)
	w1=$(children_ticks)
	g1=$(cpu_ticks "$@")
	o1=$(cpu_ticks "$@" "$UP_PID")
	read -r rps p99 non2xx errs reqs < <(parse_wrk "$file")
	cpu_us=$(awk -v d=$((g1 - g0)) -v hz="$CLK_TCK" -v n="$reqs" 'BEGIN { printf "%.1f", (n > 0 ? d * 1e6 / hz / n : -1) }')
	other=$(awk -v m0="$m0" -v m1="$m1" -v ours=$((o1 - o0 + w1 - w0)) 'BEGIN {
		split(m0, a, " "); split(m1, b, " "); busy = b[1] - a[1]; total = b[2] - a[2]
		x = total > 0 ? 100 * (busy - ours) / total : 0; if (x < 0) x = 0; printf "%.0f", x }')
	printf 'routes=%s round=%s target=%s rps=%s p99_ms=%s non2xx=%s socket_errors=%s cpu_us_per_req=%s other_cpu_pct=%s load1=%s\n' \
		"$rcase" "$round" "$target" "$rps" "$p99" "$non2xx" "$errs" "$cpu_us" "$other" "$load" >>"$RESULTS"
	log "  routes=$rcase round=$round $target: $rps req/s, p99 ${p99} ms, gateway CPU ${cpu_us} us/req (non-2xx $non2xx, socket errors $errs; other load ${other}% of the machine)"
	if ((non2xx > 0 || errs > 0)); then
		log "  WARNING: $target had non-2xx answers or socket errors; see $file"
	fi
}

warm() { # TARGET PORT
	[[ $WARMUP == 0 || $WARMUP == 0s ]] && return 0
	wrk_request "$1" "$2"
	run_wait wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" "${REQUEST[@]}" >/dev/null 2>&1
}

# wrk_request TARGET PORT: sets REQUEST to wrk's header options and URL for
# a target (the plugin case sends its API key to its own path).
wrk_request() {
	if [[ $1 == portico-plugins ]]; then
		REQUEST=(-H "apikey: $PLUGIN_KEY" "http://127.0.0.1:$2/auth")
	else
		REQUEST=("http://127.0.0.1:$2/")
	fi
}

# ---------------------------------------------------------------- start the fixed parts
free_port UP_PORT
free_port FWD_PORT
write_upstream_conf "$UP_PORT" "$OUT/conf/nginx-upstream.conf"
nginx_start UP_PID upstream "$OUT/conf/nginx-upstream.conf"
wait_status 200 10 "http://127.0.0.1:$UP_PORT/" || die "upstream nginx did not answer 200 (got $LAST_STATUS); see $OUT/upstream/logs/error.log"
log "upstream: nginx return 200 on 127.0.0.1:$UP_PORT ($UPSTREAM_WORKERS worker(s))"

log "building the forwarder"
"$GO" build -o "$OUT/bin/forwarder" ./bench/proxybench/forwarder || die "building the forwarder failed"
start_bg FWD_PID forwarder "$OUT/logs/forwarder.log" "$OUT/bin/forwarder" -listen "127.0.0.1:$FWD_PORT" -upstream "127.0.0.1:$UP_PORT"
wait_status 200 10 "http://127.0.0.1:$FWD_PORT/" || die "forwarder did not answer 200 (got $LAST_STATUS); see $OUT/logs/forwarder.log"
log "forwarder: 127.0.0.1:$FWD_PORT"

# Portico: build, start, one service and the benchmark route. PORTICO_STATE is "ok" or why not.
PORTICO_STATE=ok
PORTICO_PID=
PORTICO_REV="prebuilt $PORTICO_BIN"
ROUTES_MADE=0
if [[ $SKIP_PORTICO == 1 ]]; then
	PORTICO_STATE="skipped (SKIP_PORTICO=1)"
	PORTICO_REV="not run"
elif [[ -z $PORTICO_BIN ]]; then
	log "building Portico: go build -o bin/portico ./cmd/portico"
	PORTICO_REV=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
	[[ -z $(git -C "$REPO" status --porcelain --untracked-files=no 2>/dev/null) ]] || PORTICO_REV+=" with uncommitted changes"
	if "$GO" build -o bin/portico ./cmd/portico >"$OUT/logs/portico-build.log" 2>&1; then
		PORTICO_BIN=$REPO/bin/portico
	else
		PORTICO_STATE="build failed (see $OUT/logs/portico-build.log)"
		sed 's/^/  /' "$OUT/logs/portico-build.log" | head -20 >&2
	fi
fi
ADMIN=
if [[ $PORTICO_STATE == ok ]]; then
	free_port PX_PORT
	free_port ADMIN_PORT
	ADMIN=http://127.0.0.1:$ADMIN_PORT
	mkdir -p "$OUT/portico"
	start_bg PORTICO_PID portico "$OUT/logs/portico.out" env \
		KONG_PREFIX="$OUT/portico" \
		KONG_PROXY_LISTEN="127.0.0.1:$PX_PORT" \
		KONG_ADMIN_LISTEN="127.0.0.1:$ADMIN_PORT" \
		KONG_STATUS_LISTEN=off \
		KONG_ADMIN_GUI_LISTEN=off \
		KONG_PROXY_ACCESS_LOG=off \
		KONG_ADMIN_ACCESS_LOG=off \
		"$PORTICO_BIN" start
	if ! wait_status 200 20 "$ADMIN/"; then
		PORTICO_STATE="did not start (see $OUT/logs/portico.out)"
	elif [[ $(http_status "$ADMIN/services" -X POST -d name=bench -d "url=http://127.0.0.1:$UP_PORT/") != 201 ]] ||
		[[ $(http_status "$ADMIN/services" -X POST -d name=decoy -d "url=http://127.0.0.1:$UP_PORT/decoy") != 201 ]] ||
		[[ $(http_status "$ADMIN/services/bench/routes" -X POST -d name=bench-root --data-urlencode 'paths[]=/') != 201 ]]; then
		PORTICO_STATE="the Admin API refused the service or route: $(cat "$OUT/last-body")"
	elif ! wait_status 200 10 "http://127.0.0.1:$PX_PORT/"; then
		PORTICO_STATE="proxy does not route yet (answers $LAST_STATUS through a route paths=/ after 10 s)"
	elif [[ $(cat "$OUT/last-body") != ok ]]; then
		PORTICO_STATE="proxy answers 200 but not the upstream's body"
	else
		ROUTES_MADE=1
		log "portico: proxy 127.0.0.1:$PX_PORT, admin $ADMIN, routing"
	fi
	if [[ $PORTICO_STATE != ok ]]; then
		stop_proc "$PORTICO_PID" # leave both cores to the peers
		PORTICO_PID=
	fi
fi
[[ $PORTICO_STATE == ok ]] || log "portico: $PORTICO_STATE; measuring nginx and the forwarder only"

# The plugin case: a service of 100 routes with key-auth and rate-limiting
# (policy local, a limit never reached), and a consumer with a key.
PLUGIN_KEY=bench-key-0123456789
PLUGINS_STATE="not asked (PLUGINS=0)"
if [[ $PLUGINS == 1 && $PORTICO_STATE == ok ]]; then
	PLUGINS_STATE=ok
	cfg=$OUT/conf/portico-plugins.curl
	: >"$cfg"
	add_call() { # PATH DATA
		[[ -s $cfg ]] && echo next >>"$cfg"
		printf 'url = "%s%s"\ndata = "%s"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n' "$ADMIN" "$1" "$2" >>"$cfg"
	}
	add_call /services "name=auth&url=http://127.0.0.1:$UP_PORT/"
	add_call /services/auth/routes "name=bench-auth&paths%5B%5D=/auth"
	for ((i = 1; i < 100; i++)); do add_call /services/auth/routes "name=bench-auth-$i&paths%5B%5D=/auth-$i/api"; done
	add_call /services/auth/plugins "name=key-auth"
	add_call /services/auth/plugins "name=rate-limiting&config.policy=local&config.second=1000000000&config.hour=1000000000"
	add_call /consumers "username=bench"
	add_call /consumers/bench/key-auth "key=$PLUGIN_KEY"
	bad=$(curl -sS -K "$cfg" | grep -vc '^201$' || true)
	if ((bad != 0)); then
		PLUGINS_STATE="the Admin API refused $bad of the plugin case's writes"
	elif ! wait_status 401 10 "http://127.0.0.1:$PX_PORT/auth"; then
		PLUGINS_STATE="GET /auth without a key answers $LAST_STATUS after 10 s, not key-auth's 401"
	elif [[ $(http_status "http://127.0.0.1:$PX_PORT/auth" -H "apikey: $PLUGIN_KEY") != 200 ]]; then
		PLUGINS_STATE="GET /auth with the key is not let through"
	fi
	log "portico plugin case: $PLUGINS_STATE"
fi

# add_portico_routes N: bring Portico to N routes (the benchmark route plus N-1 extras).
add_portico_routes() {
	local want=$1 cfg=$OUT/conf/portico-routes-$1.curl i n=0 bad
	: >"$cfg"
	for ((i = ROUTES_MADE; i < want; i++)); do
		((n++)) && echo next >>"$cfg"
		if is_host_route "$i"; then
			printf 'url = "%s/services/decoy/routes"\ndata = "name=bench-host-%d&hosts%%5B%%5D=svc-%d.bench.invalid"\n' "$ADMIN" "$i" "$i" >>"$cfg"
		else
			printf 'url = "%s/services/decoy/routes"\ndata = "name=bench-path-%d&paths%%5B%%5D=/svc-%d/api"\n' "$ADMIN" "$i" "$i" >>"$cfg"
		fi
		printf 'output = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n' >>"$cfg"
	done
	((n == 0)) && return 0
	bad=$(curl -sS -K "$cfg" | grep -vc '^201$' || true)
	if ((bad != 0)); then
		log "portico: $bad of $n route creations were not 201"
		return 1
	fi
	ROUTES_MADE=$want
}

# ---------------------------------------------------------------- the cases
declare -A CASE_STATE=() # routes -> portico state for that case
for rcase in $ROUTES; do
	log ""
	log "== $rcase route(s) =="
	# nginx proxy with this case's routes
	free_port NGX_PORT
	conf=$OUT/conf/nginx-proxy-$rcase.conf
	write_proxy_conf "$NGX_PORT" "$UP_PORT" "$rcase" "$conf"
	nginx_start NGX_PID "nginx-proxy-$rcase" "$conf"
	wait_status 200 10 "http://127.0.0.1:$NGX_PORT/" || die "nginx proxy did not answer 200 (got $LAST_STATUS); see $OUT/nginx-proxy-$rcase/logs/error.log"
	check_decoys "http://127.0.0.1:$NGX_PORT" "$rcase" 5 || die "nginx proxy: the extra routes are wrong: $DECOY_PROBLEM"

	# Portico with this case's routes
	state=$PORTICO_STATE
	if [[ $state == ok ]] && ((rcase > ROUTES_MADE)); then
		log "portico: adding $((rcase - ROUTES_MADE)) routes"
		if ! add_portico_routes "$rcase"; then
			state="the Admin API refused some of the $rcase routes"
		else
			if ! check_decoys "http://127.0.0.1:$PX_PORT" "$rcase" 10; then
				state="the proxy did not apply the new routes within 10 s ($DECOY_PROBLEM)"
			elif ! wait_status 200 10 "http://127.0.0.1:$PX_PORT/"; then
				state="the benchmark route stopped answering 200 (answers $LAST_STATUS)"
			fi
		fi
		[[ $state == ok ]] || log "portico: $state"
	fi
	CASE_STATE[$rcase]=$state

	targets=(nginx forwarder)
	[[ $state == ok ]] && targets+=(portico)
	[[ $state == ok && $PLUGINS_STATE == ok ]] && targets+=(portico-plugins)
	[[ $DIRECT == 1 ]] && targets+=(direct)
	declare -A PORT_OF=([nginx]=$NGX_PORT [forwarder]=$FWD_PORT [portico]=${PX_PORT:-} [portico-plugins]=${PX_PORT:-} [direct]=$UP_PORT)
	declare -A PIDS_OF=([nginx]=$NGX_PID [forwarder]=$FWD_PID [portico]=${PORTICO_PID:-} [portico-plugins]=${PORTICO_PID:-} [direct]=$UP_PID)

	log "warming up (${WARMUP} each)"
	for t in "${targets[@]}"; do warm "$t" "${PORT_OF[$t]}"; done
	for ((round = 1; round <= ROUNDS; round++)); do
		# rotate the order each round so no target always runs first or last
		k=$(((round - 1) % ${#targets[@]}))
		order=("${targets[@]:k}" "${targets[@]:0:k}")
		for t in "${order[@]}"; do
			alive "${PIDS_OF[$t]}" || die "$t (pid ${PIDS_OF[$t]}) is no longer running"
			run_wrk "$rcase" "$round" "$t" "${PORT_OF[$t]}" "${PIDS_OF[$t]}"
		done
	done
	if [[ $COMPARE == 1 ]]; then
		[[ -n $PORTICO_BIN ]] || die "COMPARE=1 needs the portico binary (do not set SKIP_PORTICO=1)"
		cmp_args=()
		for t in "${targets[@]}"; do
			[[ $t == portico-plugins ]] && continue # bench compare sends the same request to every target
			cmp_args+=(--target "$t=http://127.0.0.1:${PORT_OF[$t]}/")
		done
		log "portico bench compare: ${targets[*]}"
		"$PORTICO_BIN" bench compare "${cmp_args[@]}" --quiet -c "$CONNECTIONS" --duration "$DURATION" \
			--warmup "$WARMUP" --rounds "$ROUNDS" --plot "$OUT/compare-$rcase.svg" >"$OUT/compare-$rcase.txt" ||
			die "portico bench compare failed"
	fi
	stop_proc "$NGX_PID"
done

# ---------------------------------------------------------------- the table
# median FIELD ROUTES TARGET: the median of FIELD over the rounds.
median() {
	{ grep -E "^routes=$2 .*target=$3 " "$RESULTS" || true; } | tr ' ' '\n' | sed -n "s/^$1=//p" | sort -g |
		awk '{ v[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# ratio_range ROUTES A B FIELD: min–max over the rounds of A/B within each round.
ratio_range() {
	awk -v c="$1" -v a="$2" -v b="$3" -v f="$4" '
	{ for (i = 1; i <= NF; i++) { split($i, kv, "="); r[kv[1]] = kv[2] }
	  if (r["routes"] != c) next
	  if (r["target"] == a) va[r["round"]] = r[f]
	  if (r["target"] == b) vb[r["round"]] = r[f] }
	END { for (k in va) if ((k in vb) && vb[k] > 0) { x = va[k] / vb[k]; if (n++ == 0 || x < lo) lo = x; if (n == 1 || x > hi) hi = x }
	      if (n) printf "%.2f-%.2f", lo, hi }' "$RESULTS"
}
# errors ROUTES TARGET: non-2xx answers plus socket errors over the rounds.
errors() {
	awk -v c="$1" -v t="$2" '
	{ for (i = 1; i <= NF; i++) { split($i, kv, "="); r[kv[1]] = kv[2] }
	  if (r["routes"] == c && r["target"] == t) n += r["non2xx"] + r["socket_errors"] }
	END { print n + 0 }' "$RESULTS"
}
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b <= 0) print "-"; else printf "%.2f", a / b }'; }

summary() {
	local rcase t rps p99 cpu errs
	printf 'Proxy benchmark, %s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
	printf 'machine: %s CPU(s), %s; nginx %s; %s\n' "$(nproc)" "$(uname -sr)" "$(nginx -v 2>&1 | sed 's/.*nginx\///')" "$(wrk -v 2>&1 | head -1 | awk '{print $1, $2}')"
	printf 'wrk -t%s -c%s -d%s --latency, %s round(s), warm-up %s; upstream nginx return 200, %s worker(s)\n' \
		"$THREADS" "$CONNECTIONS" "$DURATION" "$ROUNDS" "$WARMUP" "$UPSTREAM_WORKERS"
	printf 'portico: %s\n' "$PORTICO_REV"
	for rcase in $ROUTES; do
		printf '\n%s route(s)\n' "$rcase"
		printf '  %-15s %12s %10s %14s %8s\n' target 'req/s' 'p99 ms' 'CPU us/req' errors
		for t in nginx forwarder portico portico-plugins direct; do
			rps=$(median rps "$rcase" "$t")
			if [[ -z $rps ]]; then
				[[ $t == portico ]] && printf '  %-15s %s\n' portico "not measured: ${CASE_STATE[$rcase]}"
				[[ $t == portico-plugins && $PLUGINS == 1 ]] && printf '  %-15s %s\n' portico-plugins "not measured: $PLUGINS_STATE"
				continue
			fi
			p99=$(median p99_ms "$rcase" "$t")
			cpu=$(median cpu_us_per_req "$rcase" "$t")
			errs=$(errors "$rcase" "$t")
			printf '  %-15s %12.0f %10.2f %14.1f %8s\n' "$t" "$rps" "$p99" "$cpu" "$errs"
		done
		awk -v c="$rcase" '
		{ for (i = 1; i <= NF; i++) { split($i, kv, "="); r[kv[1]] = kv[2] }
		  if (r["routes"] == c) { n++; s += r["other_cpu_pct"]; if (r["other_cpu_pct"] > m) m = r["other_cpu_pct"] } }
		END { if (n) printf "  other load on the machine during these runs: mean %.0f%%, max %.0f%% of all CPUs%s\n", s / n, m, (m > 10 ? " (noisy: compare ratios, not req/s)" : "") }' "$RESULTS"
		printf '  ratios (medians; per-round range)   req/s               p99\n'
		for pair in forwarder/nginx portico/nginx portico/forwarder portico-plugins/nginx portico-plugins/portico; do
			a=${pair%/*} b=${pair#*/}
			[[ -n $(median rps "$rcase" "$a") && -n $(median rps "$rcase" "$b") ]] || continue
			printf '  %-34s %5s (%-9s)  %5s (%s)\n' "$pair" \
				"$(div "$(median rps "$rcase" "$a")" "$(median rps "$rcase" "$b")")" "$(ratio_range "$rcase" "$a" "$b" rps)" \
				"$(div "$(median p99_ms "$rcase" "$a")" "$(median p99_ms "$rcase" "$b")")" "$(ratio_range "$rcase" "$a" "$b" p99_ms)"
		done
		if [[ -n $(median rps "$rcase" portico) ]]; then
			if (($(errors "$rcase" portico) + $(errors "$rcase" nginx) > 0)); then
				printf '  requirement: not judged: non-2xx answers or socket errors (see %s/wrk)\n' "$OUT"
			else
				awk -v r="$(div "$(median rps "$rcase" portico)" "$(median rps "$rcase" nginx)")" \
					-v p="$(div "$(median p99_ms "$rcase" portico)" "$(median p99_ms "$rcase" nginx)")" 'BEGIN {
					ok = (r >= 0.7 && p <= 1.5)
					printf "  requirement (req/s >= 0.7x nginx, p99 <= 1.5x nginx): %s; aim 0.9x: %s\n", (ok ? "PASS" : "FAIL"), (r >= 0.9 ? "reached" : "not yet") }'
			fi
		fi
		if [[ -n $(median rps "$rcase" portico-plugins) ]]; then
			awk -v r="$(div "$(median rps "$rcase" portico-plugins)" "$(median rps "$rcase" nginx)")" 'BEGIN {
				printf "  plugins requirement (key-auth + rate-limiting req/s >= 0.6x nginx): %s; aim 0.75x: %s\n", (r >= 0.6 ? "PASS" : "FAIL"), (r >= 0.75 ? "reached" : "not yet") }'
		fi
	done
}

{
	echo
	summary
} | tee "$OUT/bench-proxy-summary.txt"
{
	echo
	echo "# summary"
	cat "$OUT/bench-proxy-summary.txt"
} >>"$RESULTS"
if [[ $COMPARE == 1 ]]; then
	for rcase in $ROUTES; do
		[[ -f $OUT/compare-$rcase.txt ]] || continue
		printf '\nportico bench compare, %s route(s) (plot: %s)\n' "$rcase" "$OUT/compare-$rcase.svg"
		cat "$OUT/compare-$rcase.txt"
	done | tee -a "$RESULTS"
fi
log ""
log "raw results: $RESULTS (wrk output in $OUT/wrk, configs in $OUT/conf)"
