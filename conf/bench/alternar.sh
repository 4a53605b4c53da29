#!/usr/bin/env bash
# One load run of one build against the 11 M registry: start that build's node, run `siis
# bench`, stop it. Comparisons alternate builds in the same hour (docs/benchmarks.md):
#   for i in 1 2 3; do
#     conf/bench/alternar.sh antes-$i  /tmp/siis-antes  /tmp/siis-antes.toml
#     conf/bench/alternar.sh despues-$i target/release/siis conf/siis.toml
#   done
# alternar.sh LABEL NODE_BINARY NODE_CONFIG [BENCH ARGS...]   (default: REST lookups against
# pings, 32 connections, 10 s after 3 s of warm-up). Environment: DATA, the folder holding
# siis-11m.db, sample-11m.csv and pki/ (default /tmp/siis-bench); BENCH, the binary that drives
# the load (default target/release/siis); NODE_ENV, more VAR=value for the node (default
# SIIS__TLS__ALLOW_CA_KEY=true: a development PKI keeps its CA key; an older build that does not
# know the key is given NODE_ENV=" ", and a config file of its own time). The node's output
# goes to DATA/node-LABEL.log, the bench's to DATA/bench-LABEL.txt.
set -u
label=$1 bin=$2 conf=$3
shift 3
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(--seconds 10 --warmup 3 --concurrency 32 --mix ficha=1)
DATA=${DATA:-/tmp/siis-bench}
BENCH=${BENCH:-target/release/siis}
read -r -a node_env <<< "${NODE_ENV-SIIS__TLS__ALLOW_CA_KEY=true}"
env "${node_env[@]}" SIIS__DATABASE__URL="sqlite://$DATA/siis-11m.db" SIIS__TLS__DIR="$DATA/pki" \
  SIIS__CONVENIOS__DIR=conf/bench SIIS__LOG__FILTER=warn SIIS__ESTADISTICAS__RECALCULAR_CADA_SECS=0 \
  "$bin" --config "$conf" serve > "$DATA/node-$label.log" 2>&1 &
node=$!
for _ in $(seq 120); do curl -sf http://127.0.0.1:8480/readyz > /dev/null && break; sleep 1; done
"$BENCH" bench --ca "$DATA/pki/ca.pem" --cert "$DATA/pki/clients/carga.pem" \
  --key "$DATA/pki/clients/carga-key.pem" --sample "$DATA/sample-11m.csv" --node-pid "$node" \
  "${args[@]}" > "$DATA/bench-$label.txt" 2>&1
kill "$node"
wait "$node" 2> /dev/null
grep -E '^(ping|ficha|ficha_soap|lote|identidad|elegibilidad) ' "$DATA/bench-$label.txt"
