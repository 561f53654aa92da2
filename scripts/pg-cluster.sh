#!/usr/bin/env bash
# A private, throw-away PostgreSQL cluster for tests and try-outs: initdb in a temporary folder,
# trust authentication, listening on 127.0.0.1 and a free port only.
#
#   scripts/pg-cluster.sh start [DIR]   creates and starts a cluster (DIR: a new temporary folder),
#                                       prints its URL on stdout (also written to DIR/url)
#   scripts/pg-cluster.sh stop DIR      stops the cluster and deletes DIR
#   (the server logs to DIR/log/postgresql.log; DIR/server.log has what came before the logger)
#   scripts/pg-cluster.sh url DIR       prints the URL of a started cluster
#   scripts/pg-cluster.sh pause DIR     stops the server, keeping its data (a lost database)
#   scripts/pg-cluster.sh resume DIR    starts it again on the same port
#
# Run as root, the cluster belongs to the `postgres` OS user (initdb refuses root). With
# PG_CLUSTER_FAST=1 it trades durability for speed (fsync off): for tests only.
#
# With PG_CLUSTER_TLS=1 the cluster speaks TLS only, like a managed database: `ssl=on` with a
# server certificate for DNS name `localhost` (no IP address in it) signed by a CA made for the
# cluster (DIR/tls/ca.crt; DIR/tls/other-ca.crt is a CA that signed nothing), and a pg_hba.conf
# that rejects every TCP connection without TLS (`hostssl` only). The printed URL then checks
# the certificate fully:
#   postgres://postgres@localhost:PORT/postgres?hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert=DIR/tls/ca.crt
set -euo pipefail

find_bin() {
  if command -v "$1" >/dev/null 2>&1; then
    command -v "$1"
    return
  fi
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin/"$1" 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$found" ]; then
    echo "pg-cluster: $1 not found (apt-get install postgresql)" >&2
    exit 1
  fi
  echo "$found"
}

# Runs a command as the cluster's owner: `postgres` when we are root, else ourselves.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# A CA, a server certificate for `localhost` signed by it, and a CA that signed nothing.
make_certificates() {
  local tls=$1 openssl
  openssl=$(command -v openssl) || { echo "pg-cluster: PG_CLUSTER_TLS=1 needs the openssl command" >&2; exit 1; }
  mkdir -p "$tls"
  local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  local ca_ext=(-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign)
  "$openssl" req -x509 "${ec[@]}" -keyout "$tls/ca.key" -out "$tls/ca.crt" -days 30 \
    -subj "/CN=hongbao test CA" "${ca_ext[@]}" 2>/dev/null
  "$openssl" req -x509 "${ec[@]}" -keyout "$tls/other-ca.key" -out "$tls/other-ca.crt" -days 30 \
    -subj "/CN=hongbao other CA" "${ca_ext[@]}" 2>/dev/null
  "$openssl" req "${ec[@]}" -keyout "$tls/server.key" -out "$tls/server.csr" \
    -subj "/CN=localhost" 2>/dev/null
  printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
    >"$tls/server.ext"
  "$openssl" x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" \
    -CAcreateserial -out "$tls/server.crt" -days 30 -extfile "$tls/server.ext" 2>/dev/null
  chmod 600 "$tls/server.key"
  if [ "$(id -u)" -eq 0 ]; then
    chown -R postgres: "$tls"
  fi
}

port_is_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start() {
  local dir=${1:-}
  if [ -z "$dir" ]; then
    dir=$(mktemp -d "${TMPDIR:-/tmp}/hongbao-pg.XXXXXX")
  fi
  mkdir -p "$dir"
  local initdb pg_ctl
  initdb=$(find_bin initdb)
  pg_ctl=$(find_bin pg_ctl)
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$dir"
  fi
  chmod 700 "$dir"
  as_owner "$initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  # The server log in DIR/log/postgresql.log, each line naming its database, so that a test can
  # count what its own database logged (`pg_current_logfile()`; e.g. `deadlock detected`), and
  # lock waits longer than deadlock_timeout (1 s) logged.
  as_owner tee -a "$dir/data/postgresql.conf" >/dev/null <<CONF
logging_collector = on
log_directory = '$dir/log'
log_filename = 'postgresql.log'
log_line_prefix = '%m [%p] %d '
log_lock_waits = on
CONF
  local options="-c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir -c max_connections=200"
  if [ "${PG_CLUSTER_FAST:-0}" = 1 ]; then
    options="$options -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  fi
  local tls_query="" host=127.0.0.1
  if [ "${PG_CLUSTER_TLS:-0}" = 1 ]; then
    make_certificates "$dir/tls"
    options="$options -c ssl=on -c ssl_cert_file=$dir/tls/server.crt -c ssl_key_file=$dir/tls/server.key"
    # TCP without TLS is rejected, as managed databases do; the Unix socket stays for the owner.
    printf 'local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n' \
      | as_owner tee "$dir/data/pg_hba.conf" >/dev/null
    host=localhost
    tls_query="?hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert=$dir/tls/ca.crt"
  fi
  local attempt port
  for attempt in 1 2 3 4 5 6 7 8; do
    port=$((20000 + RANDOM % 30000))
    port_is_free "$port" || continue
    if as_owner "$pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
      -o "$options -p $port" start >/dev/null 2>&1; then
      local url="postgres://postgres@$host:$port/postgres$tls_query"
      echo "$url" >"$dir/url"
      echo "$options -p $port" >"$dir/options"
      echo "pg-cluster: started in $dir (stop: $0 stop $dir)" >&2
      echo "$url"
      return
    fi
  done
  echo "pg-cluster: could not start PostgreSQL; log:" >&2
  cat "$dir/server.log" "$dir/log/postgresql.log" >&2 2>/dev/null || true
  exit 1
}

stop() {
  local dir=${1:?usage: $0 stop DIR}
  local pg_ctl
  pg_ctl=$(find_bin pg_ctl)
  if [ -d "$dir/data" ]; then
    as_owner "$pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}

pause() {
  local dir=${1:?usage: $0 pause DIR}
  as_owner "$(find_bin pg_ctl)" -D "$dir/data" -m fast -w stop >/dev/null
}

resume() {
  local dir=${1:?usage: $0 resume DIR}
  as_owner "$(find_bin pg_ctl)" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
    -o "$(cat "$dir/options")" start >/dev/null
}

case "${1:-}" in
  start) start "${2:-}" ;;
  stop) stop "${2:-}" ;;
  pause) pause "${2:-}" ;;
  resume) resume "${2:-}" ;;
  url) cat "${2:?usage: $0 url DIR}/url" ;;
  *)
    echo "usage: $0 start [DIR] | stop DIR | url DIR | pause DIR | resume DIR" >&2
    exit 2
    ;;
esac
