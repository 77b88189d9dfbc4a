#!/bin/sh
# ftinit task of the influxdb image, run once influxd is healthy: creates the admin user
# (INFLUXDB_ADMIN_USER / INFLUXDB_ADMIN_PASSWORD), the metrics database (INFLUXDB_DB, default
# ftservices) and the account every image's ftinit pushes its metrics with
# (INFLUXDB_METRICS_USER, INFLUXDB_METRICS_PASSWORD; WRITE on that database only) through
# the HTTP API, POST /query; and grafana's data source account (INFLUXDB_READER_USER,
# INFLUXDB_READER_PASSWORD; READ on that database only). Idempotent (an existing user gets its
# password and privileges again, CREATE DATABASE succeeds when it exists), so every boot runs
# it. As influxdata-docker's init-influxdb.sh, but on the running daemon (no second one).
# With auth enabled and no user yet, InfluxDB accepts exactly this first CREATE USER ... WITH
# ALL PRIVILEGES; afterwards every request authenticates as the admin.
set -eu

: "${INFLUXDB_ADMIN_USER:?is required}" "${INFLUXDB_ADMIN_PASSWORD:?is required}"
: "${INFLUXDB_METRICS_USER:?is required}" "${INFLUXDB_METRICS_PASSWORD:?is required}"
: "${INFLUXDB_READER_USER:?is required}" "${INFLUXDB_READER_PASSWORD:?is required}"
db=${INFLUXDB_DB:-ftservices}
# The daemon to talk to: the running one, or first-admin.sh's temporary one ($1).
url=${1:-http://127.0.0.1:8086}

die() {
    echo "error: $*" >&2
    exit 1
}

# Escapes backslash and $2 for an InfluxQL quoted string or identifier.
influxql_escape() {
    printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e "s/$2/\\\\$2/g"
}

# Escapes backslash and double quote for a quoted value of a curl config file.
curl_escape() {
    printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g'
}

# Runs one InfluxQL statement as the admin; prints the JSON answer. Credentials and the
# statement go to curl in a config on stdin, never on a command line; -q: no ~/.curlrc.
query() {
    printf 'user = "%s:%s"\ndata-urlencode = "q=%s"\n' \
        "$(curl_escape "$INFLUXDB_ADMIN_USER")" "$(curl_escape "$INFLUXDB_ADMIN_PASSWORD")" "$(curl_escape "$1")" |
        curl -q --silent --show-error --fail --max-time 10 --config - -X POST "$url/query"
}

tries=0
until curl -q --silent --fail --max-time 2 --output /dev/null "$url/ping"; do
    tries=$((tries + 1))
    [ "$tries" -lt 30 ] || die "no answer from $url/ping within 30 s"
    sleep 1
done

# Creates user $1 with password $2 (and $3 appended to CREATE USER), then grants it $4 (an
# InfluxQL privilege clause); an existing user gets the password and privileges again.
ensure_user() {
    name=$(influxql_escape "$1" '"')
    secret=$(influxql_escape "$2" "'")
    answer=$(query "CREATE USER \"$name\" WITH PASSWORD '$secret'$3") ||
        die "CREATE USER $1 failed (with auth enabled: are these the admin's credentials?)"
    case $answer in
    *'user already exists'*)
        answer=$(query "SET PASSWORD FOR \"$name\" = '$secret'") || die "SET PASSWORD for $1 failed"
        ;;
    esac
    case $answer in *'"error"'*) die "user $1: $answer" ;; esac
    answer=$(query "GRANT $4 TO \"$name\"") || die "GRANT to $1 failed"
    case $answer in *'"error"'*) die "user $1: $answer" ;; esac
    echo "user '$1' ready"
}

ensure_user "$INFLUXDB_ADMIN_USER" "$INFLUXDB_ADMIN_PASSWORD" " WITH ALL PRIVILEGES" "ALL PRIVILEGES"

quoted_db=$(influxql_escape "$db" '"')
answer=$(query "CREATE DATABASE \"$quoted_db\"") || die "CREATE DATABASE failed"
case $answer in *'"error"'*) die "database: $answer" ;; esac
echo "database '$db' ready"

ensure_user "$INFLUXDB_METRICS_USER" "$INFLUXDB_METRICS_PASSWORD" "" "WRITE ON \"$quoted_db\""
ensure_user "$INFLUXDB_READER_USER" "$INFLUXDB_READER_PASSWORD" "" "READ ON \"$quoted_db\""
