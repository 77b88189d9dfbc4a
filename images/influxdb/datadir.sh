#!/bin/sh
# ftinit task of the influxdb image, run as root before influxd: the meta, data and wal
# directories exist and belong to the user influxd runs as (a fresh volume belongs to root).
set -eu

dir=/var/lib/influxdb
user=influxdb

id "$user" >/dev/null || { echo "error: no user '$user'" >&2; exit 1; }
mkdir -p "$dir/meta" "$dir/data" "$dir/wal"
# Only what is not the daemon's yet is changed (no chown -R over a large data dir).
find "$dir" ! -user "$user" -exec chown "$user" {} +
chmod 0750 "$dir"
