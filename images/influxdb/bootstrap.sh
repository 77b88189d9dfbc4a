#!/bin/sh
# ftinit task of the influxdb image, run once influxd is healthy: creates the admin user
# (INFLUXDB_ADMIN_USER / INFLUXDB_ADMIN_PASSWORD) and the metrics database
# (INFLUXDB_DB, default ftservices) through the HTTP API, POST /query. Idempotent: CREATE USER
# with the same password and CREATE DATABASE succeed when they already exist, so every boot
# runs it. As influxdata-docker's init-influxdb.sh, but on the running daemon (no second one).
# With auth enabled and no user yet, InfluxDB accepts exactly this first CREATE USER ... WITH
# ALL PRIVILEGES; afterwards every request authenticates as the admin.
set -eu

: "${INFLUXDB_ADMIN_USER:?is required}" "${INFLUXDB_ADMIN_PASSWORD:?is required}"
db=${INFLUXDB_DB:-ftservices}
url=http://127.0.0.1:8086
curl=${CURL_BIN:-/usr/bin/curl}

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
        "$curl" -q --silent --show-error --fail --max-time 10 --config - -X POST "$url/query"
}

tries=0
until "$curl" -q --silent --fail --max-time 2 --output /dev/null "$url/ping"; do
    tries=$((tries + 1))
    [ "$tries" -lt 30 ] || die "no answer from $url/ping within 30 s"
    sleep 1
done

user=$(influxql_escape "$INFLUXDB_ADMIN_USER" '"')
password=$(influxql_escape "$INFLUXDB_ADMIN_PASSWORD" "'")
answer=$(query "CREATE USER \"$user\" WITH PASSWORD '$password' WITH ALL PRIVILEGES") ||
    die "CREATE USER failed (with auth enabled: are these the admin's credentials?)"
case $answer in
*'user already exists'*)
    # Reached with auth disabled only (with auth on, a wrong password is a 401 above).
    answer=$(query "SET PASSWORD FOR \"$user\" = '$password'; GRANT ALL PRIVILEGES TO \"$user\"") ||
        die "SET PASSWORD failed"
    echo "admin user '$INFLUXDB_ADMIN_USER' existed: password and privileges re-applied"
    ;;
esac
case $answer in *'"error"'*) die "admin user: $answer" ;; esac
echo "admin user '$INFLUXDB_ADMIN_USER' ready"

answer=$(query "CREATE DATABASE \"$(influxql_escape "$db" '"')\"") || die "CREATE DATABASE failed"
case $answer in *'"error"'*) die "database: $answer" ;; esac
echo "database '$db' ready"
