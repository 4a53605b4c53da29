#!/usr/bin/env bash
# Push delivery: from a committed death feed to the receiver (docs/benchmarks.md, *Push
# delivery*). Seeds a registry, starts `siis receptor` and a node whose agreements are a
# subscriber (`avisos`: push of deaths to the receiver) and a provider (`srcei`), then runs
# conf/bench/eventos.py:
#   1. a feed of BURST deaths (default 100,000): seconds from its answer to the last
#      notification applied, every key applied exactly once;
#   2. RATE deaths a second (default 1,000) for PACED_SECONDS (default 60): each event's latency
#      from the registry's record to the receiver, median and p99.
#   3. a feed of CAIDA deaths (default 20,000), the node killed with `kill -9` once the
#      receiver has applied a quarter, started again: every key applied exactly once.
#
#   conf/bench/eventos.sh sqlite
#   conf/bench/eventos.sh postgres postgres://postgres@127.0.0.1:54320/postgres
#
# With postgres, the URL names a server database to connect to; the script creates (and
# afterwards drops) a database siis_bench_eventos beside it. SIIS=another binary (default
# target/release/siis); PERSONS (default 400000), BURST, RATE, PACED_SECONDS, CAIDA override the sizes;
# KEEP=1 keeps the run's folder and database (stop the receiver yourself).
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ $# -lt 1 ] || { [ "$1" = postgres ] && [ $# -lt 2 ]; }; then
  sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
BACKEND=$1
SIIS=${SIIS:-target/release/siis}
PERSONS=${PERSONS:-400000}
BURST=${BURST:-100000}
RATE=${RATE:-1000}
SECONDS_PACED=${PACED_SECONDS:-60}
CAIDA=${CAIDA:-20000}
[ -x "$SIIS" ] || { echo "$SIIS is missing: cargo build --release" >&2; exit 3; }

WORK=$(mktemp -d /tmp/siis-eventos.XXXXXX)
PIDS=()
DROP=""
cleanup() {
  if [ -n "${KEEP:-}" ]; then echo "kept: $WORK${DROP:+ and database siis_bench_eventos}" >&2; return; fi
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -z "$DROP" ] || psql "$DROP" -XAtq -c "DROP DATABASE IF EXISTS siis_bench_eventos" >/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

case $BACKEND in
  sqlite) URL="sqlite://$WORK/siis.db" ;;
  postgres)
    DROP=$2
    psql "$2" -XAtq -c "DROP DATABASE IF EXISTS siis_bench_eventos" -c "CREATE DATABASE siis_bench_eventos" >/dev/null
    URL="${2%/*}/siis_bench_eventos" ;;
  *) echo "backend: sqlite or postgres" >&2; exit 2 ;;
esac
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
RECEPTOR_PORT=$(free_port)
CALLBACK="https://localhost:$RECEPTOR_PORT/eventos"

echo "seeding $PERSONS persons ($BACKEND)"
SIIS__DATABASE__URL="$URL" "$SIIS" migrate >/dev/null
SIIS__DATABASE__URL="$URL" "$SIIS" seed --persons "$PERSONS" >/dev/null

# The two agreements, for this run only: limits that never interfere (each delivery is
# charged to the subscriber; each dead person to the provider's batch budget).
mkdir -p "$WORK/convenios"
limits='[limits]
per_second = 100000
burst = 1000000
daily_quota = 100000000'
cat >"$WORK/convenios/avisos.toml" <<EOF
id = "avisos"
agency = "Banco de pruebas de avisos"
legal_basis = "Prueba"
purpose = "Medir la entrega push"
valid_from = 2026-01-01
valid_until = 2099-12-31
$limits
[[clients]]
subject_cn = "avisos"
[operations.Suscripciones]
fields = ["id", "suscripcion", "secuencia", "tipo", "registrado", "run", "fechaDefuncion"]
eventos = ["defuncion"]
entrega = ["push"]
callbacks = ["$CALLBACK"]
EOF
cat >"$WORK/convenios/srcei.toml" <<EOF
id = "srcei"
agency = "Banco de pruebas: Registro Civil"
legal_basis = "Prueba"
purpose = "Informar defunciones"
valid_from = 2026-01-01
valid_until = 2099-12-31
$limits
[limits.lotes]
per_second = 100000
burst = 1000000
daily_quota = 100000000
[[clients]]
subject_cn = "srcei"
[operations.RecepcionLotes]
fields = ["lote", "tipo", "leidos", "aplicados", "rechazados", "rechazos"]
tipos = ["defunciones"]
EOF
"$SIIS" pki dev --out "$WORK/pki" --convenios "$WORK/convenios" >/dev/null

"$SIIS" receptor --listen "127.0.0.1:$RECEPTOR_PORT" --cert "$WORK/pki/receptor.pem" \
  --key "$WORK/pki/receptor-key.pem" --ca "$WORK/pki/ca.pem" --claves "$WORK/claves.db" \
  --silencioso 2>"$WORK/receptor.log" &
PIDS+=("$!")

# The node's settings; eventos.py starts it (and, for the crash phase, kills it with
# `kill -9` in mid-delivery and starts it again). Leases of 10 s (the default is 60): the rows
# the killed node had claimed are sent again 10 s after it died.
export SIIS__DATABASE__URL="$URL" SIIS__TLS__DIR="$WORK/pki" SIIS__TLS__ALLOW_CA_KEY=true \
  SIIS__CONVENIOS__DIR="$WORK/convenios" SIIS__LISTEN__AGENCY=127.0.0.1:0 \
  SIIS__LISTEN__PUBLIC=127.0.0.1:0 SIIS__LISTEN__ADMIN=127.0.0.1:0 \
  SIIS__AUDIT__CHECKPOINTS="$WORK/checkpoints.jsonl" SIIS__CONSOLA__HABILITADA=false \
  SIIS__ESTADISTICAS__RECALCULAR_CADA_SECS=0 SIIS__LOG__FILTER="warn,siis::cli=info" \
  SIIS__NOTIFICACIONES__LEASE_MS=10000 SIIS__NOTIFICACIONES__TIMEOUT_MS=5000

python3 conf/bench/eventos.py --siis "$SIIS" --work "$WORK" --url "$URL" --pki "$WORK/pki" \
  --callback "$CALLBACK" --claves "$WORK/claves.db" --receptor "$RECEPTOR_PORT" \
  --burst "$BURST" --rate "$RATE" --seconds "$SECONDS_PACED" --caida "$CAIDA"
