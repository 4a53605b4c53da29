#!/usr/bin/env bash
# Samples the size of the node's write-ahead logs and audit storage while a benchmark runs,
# one CSV line every EVERY seconds for SECONDS seconds (README, *Benchmarks*, *Bounded WAL*).
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

sqlite_header() {
    echo "time,elapsed_s,registry,registry_wal,audit,audit_wal,index,index_wal"
}
sqlite_sample() {
    local db=$1 dir stem
    dir=$(dirname "$db") stem=$(basename "$db" .db)
    local audit="$dir/$stem-auditoria.db" index="$dir/$stem-auditoria-indice.db"
    echo "$(size "$db"),$(size "$db-wal"),$(size "$audit"),$(size "$audit-wal"),$(size "$index"),$(size "$index-wal")"
}

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
    sleep "$every"
done
