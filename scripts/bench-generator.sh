#!/usr/bin/env bash
# The load generator's own figures: `portico bench http` against wrk on the
# same nginx `return 200` upstream, alternating in rounds (closed loop,
# keep-alive), then its open-loop accuracy at a fixed rate.
#
#   scripts/bench-generator.sh                 # 10 s runs, 3 rounds, -c 50, threads 1 and 2, --rate 5000
#   DURATION=5s ROUNDS=2 THREADS="2" scripts/bench-generator.sh
#
# Each thread count is measured for both tools (wrk -t N, portico bench -t N); the
# requirement compares their ceilings: each tool's best median over the thread counts.
#
# Needs nginx, wrk and go; installs nothing; listens on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-50}
THREADS=${THREADS:-"1 2"}
RATE=${RATE:-5000}
OUT=${OUT:-${TMPDIR:-/tmp}/portico-bench-generator}

for tool in nginx wrk go; do
	command -v "$tool" >/dev/null || { echo "bench-generator: $tool is missing (apt-get install -y nginx wrk)" >&2; exit 1; }
done
rm -rf "$OUT" && mkdir -p "$OUT/nginx/logs"
go build -o "$OUT/portico" ./cmd/portico

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$OUT/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $OUT/nginx/nginx.pid;
error_log $OUT/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    server { listen 127.0.0.1:$PORT; location / { return 200 "ok"; } }
}
CONF
nginx -p "$OUT/nginx" -c "$OUT/nginx.conf" &
NGINX=$!
trap 'kill $NGINX 2>/dev/null; wait $NGINX 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$PORT/" >/dev/null && break; sleep 0.1; done
URL="http://127.0.0.1:$PORT/"

# to_ms VALUE: wrk's latency ("812.00us", "4.06ms", "1.20s") in ms.
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'; }

echo "machine: $(nproc) CPU(s), $(uname -sr); $(nginx -v 2>&1); wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}')"
echo "closed loop, keep-alive, -c $CONNECTIONS, $DURATION per run, $ROUNDS round(s), alternating"
: >"$OUT/rounds.txt"
for threads in $THREADS; do
	for r in $(seq "$ROUNDS"); do
		w=$(wrk --latency -t"$threads" -c"$CONNECTIONS" -d"$DURATION" "$URL")
		wrps=$(awk '/Requests\/sec/ {print $2}' <<<"$w")
		wp99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$w")")
		p=$("$OUT/portico" bench http --quiet --json -t "$threads" -c "$CONNECTIONS" --duration "$DURATION" "$URL")
		prps=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["requests_per_second"])' <<<"$p")
		pp99=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["latency_ms"]["p99"])' <<<"$p")
		echo "$threads $wrps $wp99 $prps $pp99" >>"$OUT/rounds.txt"
		printf '  threads %d round %d: wrk %.0f req/s p99 %.2f ms; portico bench %.0f req/s p99 %.2f ms\n' \
			"$threads" "$r" "$wrps" "$wp99" "$prps" "$pp99"
	done
done
python3 - "$OUT/rounds.txt" <<'PY'
import sys, statistics
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
by = {}
for t, wr, wp, pr, pp in rows:
    by.setdefault(t, []).append((float(wr), float(wp), float(pr), float(pp)))
best = {}
for t, rs in by.items():
    med = [statistics.median(r[i] for r in rs) for i in range(4)]
    print(f"  threads {t}: wrk {med[0]:.0f} req/s p99 {med[1]:.2f} ms; portico bench {med[2]:.0f} req/s p99 {med[3]:.2f} ms; "
          f"ratio req/s {med[2] / med[0]:.2f}, p99 {med[3] / med[1]:.2f}")
    if "wrk" not in best or med[0] > best["wrk"][0]:
        best["wrk"] = (med[0], med[1], t)
    if "portico" not in best or med[2] > best["portico"][0]:
        best["portico"] = (med[2], med[3], t)
w, p = best["wrk"], best["portico"]
rps, p99 = p[0] / w[0], p[1] / w[1]
print(f"ceilings: wrk {w[0]:.0f} req/s (-t {w[2]}), portico bench {p[0]:.0f} req/s (-t {p[2]}): ratio req/s {rps:.2f}, p99 {p99:.2f}")
print("requirement (req/s >= 0.8x wrk, p99 <= 1.5x wrk):", "PASS" if rps >= 0.8 and p99 <= 1.5 else "FAIL")
PY

echo "open loop at $RATE req/s for $DURATION:"
p=$("$OUT/portico" bench http --quiet --json -c "$CONNECTIONS" --rate "$RATE" --duration "$DURATION" "$URL")
python3 - "$p" "$RATE" <<'PY'
import json, sys
r = json.loads(sys.argv[1]); rate = float(sys.argv[2])
got = r["requests_per_second"]; err = abs(got - rate) / rate; l = r["latency_ms"]
print(f"  achieved {got:.1f} req/s ({100 * err:.2f}% off), p50 {l['p50']:.2f} ms, p99 {l['p99']:.2f} ms")
print("requirement (within 2%):", "PASS" if err <= 0.02 else "FAIL")
PY
