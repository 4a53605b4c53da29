#!/usr/bin/env bash
# Samples the size of the node's write-ahead logs and audit storage while a benchmark runs,
# one CSV line every EVERY seconds for SECONDS seconds (docs/benchmarks.md, *Bounded
# write-ahead logs*). On SQLite each WAL's size is also read every second in between, and its
# largest size so far is printed in a column of its own (`*_wal_peak`).
#
#   conf/bench/wal.sh sqlite   /work/bench-data/siis-11m.db               SECONDS [EVERY]
#   conf/bench/wal.sh postgres postgres://postgres@127.0.0.1:54320/siis_bench SECONDS [EVERY]
#
# SQLite: bytes of siis.db, siis-auditoria.db and siis-auditoria-indice.db and of each one's
# -wal file. PostgreSQL: bytes in pg_wal (the whole server's), WAL written since the first
# sample, and for auditoria, auditoria_sujetos and auditoria_sujetos_hasta their live and dead
# tuples (pg_stat_user_tables), table bytes (heap) and index bytes.
set -euo pipefail

usage() { sed -n 2,11p "$0" >&2; exit 2; }
[ $# -ge 3 ] || usage
backend=$1 target=$2 seconds=$3 every=${4:-30}
start=$(date +%s)

size() { stat -c %s "$1" 2>/dev/null || echo 0; }

sqlite_files() {
    local db=$1 dir stem
    dir=$(dirname "$db") stem=$(basename "$db" .db)
    echo "$db $dir/$stem-auditoria.db $dir/$stem-auditoria-indice.db"
}
declare -A peak
sqlite_header() {
    echo "time,elapsed_s,registry,registry_wal,registry_wal_peak,audit,audit_wal,audit_wal_peak,index,index_wal,index_wal_peak"
}
sqlite_watch() {   # every second until the next sample: each WAL's largest size
    local f s
    for f in $(sqlite_files "$1"); do
        s=$(size "$f-wal")
        [ "$s" -le "${peak[$f]:-0}" ] || peak[$f]=$s
    done
}
sqlite_sample() {
    local f line=""
    sqlite_watch "$1"
    for f in $(sqlite_files "$1"); do
        line="$line,$(size "$f"),$(size "$f-wal"),${peak[$f]:-0}"
    done
    echo "${line#,}"
}
postgres_watch() { :; }

tables="auditoria auditoria_sujetos auditoria_sujetos_hasta"
postgres_header() {
    local cols="time,elapsed_s,pg_wal,wal_written"
    for t in $tables; do cols="$cols,${t}_live,${t}_dead,${t}_heap,${t}_indexes"; done
    echo "$cols"
}
postgres_sample() {
    local url=$1
    psql "$url" -XAtq -F, -c "
        SELECT (SELECT sum(size) FROM pg_ls_waldir()),
               pg_wal_lsn_diff(pg_current_wal_lsn(), '$lsn0')::bigint,
               $(for t in $tables; do printf "%s" "(SELECT n_live_tup FROM pg_stat_user_tables WHERE relname = '$t'),
               (SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = '$t'),
               pg_relation_size('$t'), pg_indexes_size('$t'),"; done) 0" | sed 's/,0$//'
}

case $backend in
    sqlite) sqlite_header ;;
    postgres)
        lsn0=$(psql "$target" -XAtq -c "SELECT pg_current_wal_lsn()")
        postgres_header ;;
    *) usage ;;
esac
while :; do
    now=$(date +%s)
    echo "$(date -u +%H:%M:%S),$((now - start)),$("${backend}_sample" "$target")"
    [ $((now - start)) -lt "$seconds" ] || break
    for _ in $(seq "$every"); do sleep 1; "${backend}_watch" "$target"; done
done
