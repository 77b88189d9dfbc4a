#!/bin/sh
# ftinit task of the influxdb image, run as the influxdb user before influxd: on an empty data
# dir only, a temporary influxd that listens on 127.0.0.1 (HTTP 8087, RPC 8089: influxd reads
# INFLUXDB_* variables over its config) gets the accounts from bootstrap.sh, then stops. As
# influxdata-docker's init-influxdb.sh, so that the first admin, which InfluxDB lets anyone
# create while no user exists, is never open to whoever reaches port 8086 first.
set -eu

[ ! -e /var/lib/influxdb/meta/meta.db ] || exit 0
echo "empty data dir: the accounts first, on a daemon bound to 127.0.0.1"
INFLUXDB_HTTP_BIND_ADDRESS=127.0.0.1:8087 INFLUXDB_BIND_ADDRESS=127.0.0.1:8089 \
    /usr/bin/influxd -config /run/influxdb/influxdb.conf &
daemon=$!
trap 'kill "$daemon" 2>/dev/null; wait "$daemon" 2>/dev/null || true' EXIT
/bin/sh /etc/ftinit/bootstrap.sh http://127.0.0.1:8087
