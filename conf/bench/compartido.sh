#!/usr/bin/env bash
# What sharing limits and replay across nodes costs one node (`cluster.nodo`): start a node on
# a PostgreSQL registry, alone (NODO "-") or named, run `siis bench` against it, and print the
# coordination thread's statements and the requests counted on /metrics (docs/benchmarks.md,
# *Several nodes*):
#   conf/bench/compartido.sh -  carga --rate 1000 --seconds 15 --warmup 3 --mix ficha=1 --no-baseline
#   conf/bench/compartido.sh n1 carga --rate 1000 --seconds 15 --warmup 3 --mix ficha=1 --no-baseline --message-ids
# compartido.sh NODO CERT [BENCH ARGS...]. Environment: DB, the registry's PostgreSQL URL
# (seeded with `siis seed --sample $DATA/sample.csv`); DATA, the folder holding sample.csv,
# pki/ (`siis pki dev --convenios $DATA/conv`) and conv/ (conf/bench/carga.toml and any other
# agreement to act under, e.g. a copy at 5 a second); ports 28443, 28444 and 28480.
set -u
nodo=$1 cert=$2
shift 2
DATA=${DATA:-/tmp/siis-bench}
B=${B:-target/release/siis}
export SIIS__DATABASE__URL=$DB SIIS__TLS__DIR=$DATA/pki SIIS__TLS__ALLOW_CA_KEY=true \
  SIIS__CONVENIOS__DIR=$DATA/conv SIIS__LOG__FILTER=warn SIIS__ESTADISTICAS__RECALCULAR_CADA_SECS=0 \
  SIIS__LISTEN__AGENCY=127.0.0.1:28443 SIIS__LISTEN__PUBLIC=127.0.0.1:28444 \
  SIIS__LISTEN__ADMIN=127.0.0.1:28480
[ "$nodo" = - ] || export SIIS__CLUSTER__NODO=$nodo
"$B" serve > "$DATA/node-$nodo.log" 2>&1 &
node=$!
for _ in $(seq 60); do curl -sf http://127.0.0.1:28480/readyz > /dev/null && break; sleep 1; done
counts() {
  curl -s http://127.0.0.1:28480/metrics | awk '/^siis_coordinacion_sentencias_total/ {c += $2}
    /^siis_requests_total/ {r += $2} END {print "statements", c + 0, "requests", r + 0}'
}
echo "before: $(counts)"
"$B" bench --target https://localhost:28443 --ca "$DATA/pki/ca.pem" \
  --cert "$DATA/pki/clients/$cert.pem" --key "$DATA/pki/clients/$cert-key.pem" \
  --sample "$DATA/sample.csv" --node-pid "$node" "$@"
echo "after: $(counts)"
kill "$node"
wait "$node"
