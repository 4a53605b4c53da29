#!/usr/bin/env bash
# Several nodes over one PostgreSQL: throughput and CPU per request of the same REST lookups
# (with a message id each, so the replay check is paid) against
#   1. one node alone (no cluster.nodo: limits, replay and audit head in its memory);
#   2. one node with cluster.nodo (limits, replay and the audit chain shared through PostgreSQL);
#   3. three nodes behind HAProxy (TCP mode, leastconn), the client reaching them through it.
# Two cores cannot show three nodes scaling; the CPU per request shows what sharing costs.
#
#   conf/bench/nodos.sh POSTGRES_URL SAMPLE.csv [SECONDS]
#
# POSTGRES_URL names a registry seeded with `siis seed --sample SAMPLE.csv`. Set PG_PID to the
# server's postmaster pid (`head -1 $PGDATA/postmaster.pid`) to have its CPU per request too,
# SIIS to another binary (default target/release/siis). Needs haproxy. docs/benchmarks.md,
# "Several nodes: one against three behind HAProxy", has the latest figures.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ $# -lt 2 ]; then
  sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
URL=$1
SAMPLE=$2
SECONDS_PER_PHASE=${3:-10}
SIIS=${SIIS:-target/release/siis}
command -v haproxy >/dev/null || { echo "haproxy is not installed" >&2; exit 3; }
[ -x "$SIIS" ] || { echo "$SIIS is missing: cargo build --release" >&2; exit 3; }

WORK=$(mktemp -d /tmp/siis-nodos.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

"$SIIS" pki dev --out "$WORK/pki" --convenios conf/bench >/dev/null

# start_node NAME [NODO]: starts a node on ports of the system's choosing; sets AGENCY, ADMIN, PID.
start_node() {
  local name=$1 nodo=${2:-} log="$WORK/$1.log"
  env SIIS__DATABASE__URL="$URL" ${nodo:+SIIS__CLUSTER__NODO=$nodo} \
    SIIS__TLS__DIR="$WORK/pki" SIIS__TLS__ALLOW_CA_KEY=true SIIS__CONVENIOS__DIR=conf/bench \
    SIIS__LISTEN__AGENCY=127.0.0.1:0 SIIS__LISTEN__PUBLIC=127.0.0.1:0 SIIS__LISTEN__ADMIN=127.0.0.1:0 \
    SIIS__AUDIT__CHECKPOINTS="$WORK/$name-checkpoints.jsonl" SIIS__CONSOLA__HABILITADA=false \
    SIIS__ESTADISTICAS__RECALCULAR_CADA_SECS=0 SIIS__LOG__FILTER="warn,siis::cli=info" \
    "$SIIS" serve 2>"$log" &
  PID=$!
  PIDS+=("$PID")
  for _ in $(seq 600); do
    grep -q "node started" "$log" && break
    kill -0 "$PID" 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.1
  done
  AGENCY=$(grep -o 'agency=[^ ]*' "$log" | head -1 | cut -d= -f2)
  ADMIN=$(grep -o 'admin=[^ ]*' "$log" | head -1 | cut -d= -f2)
}

stop_nodes() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}

# bench LABEL PORT [bench arguments...]
bench() {
  local label=$1 port=$2
  shift 2
  echo
  echo "=== $label"
  "$SIIS" bench --target "https://localhost:$port" --ca "$WORK/pki/ca.pem" \
    --cert "$WORK/pki/clients/carga.pem" --key "$WORK/pki/clients/carga-key.pem" \
    --sample "$SAMPLE" --seconds "$SECONDS_PER_PHASE" --warmup 3 --concurrency 32 \
    --mix ficha=1 --message-ids ${PG_PID:+--pg-pid "$PG_PID"} "$@"
}

start_node solo
bench "one node alone" "${AGENCY##*:}" --node-pid "$PID"
stop_nodes

start_node n1 n1
bench "one node with cluster.nodo" "${AGENCY##*:}" --node-pid "$PID"
stop_nodes

SERVERS=""
NODE_ARGS=()
for n in n1 n2 n3; do
  start_node "$n" "$n"
  NODE_ARGS+=(--node-pid "$PID")
  SERVERS="$SERVERS    server $n $AGENCY check port ${ADMIN##*:}
"
done
FRONT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$WORK/haproxy.cfg" <<EOF
global
    maxconn 2000
defaults
    mode tcp
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    timeout check 1s
    option redispatch 1
frontend agencias
    bind 127.0.0.1:$FRONT
    default_backend nodos
backend nodos
    balance leastconn
    option httpchk
    http-check send meth GET uri /admin/balanceador ver HTTP/1.1 hdr Host localhost
    http-check expect status 200
    http-check disable-on-404
    default-server inter 500ms fall 2 rise 2 on-marked-down shutdown-sessions
$SERVERS
EOF
haproxy -q -db -f "$WORK/haproxy.cfg" &
HAPROXY=$!
PIDS+=("$HAPROXY")
sleep 2
bench "three nodes behind HAProxy" "$FRONT" "${NODE_ARGS[@]}" --pid "haproxy=$HAPROXY"
stop_nodes
echo
SIIS__DATABASE__URL="$URL" SIIS__TLS__DIR="$WORK/pki" "$SIIS" audit verify \
  --checkpoints "$WORK/n1-checkpoints.jsonl" --checkpoints "$WORK/n2-checkpoints.jsonl" \
  --checkpoints "$WORK/n3-checkpoints.jsonl" | tail -3
