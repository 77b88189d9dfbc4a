#!/bin/sh
# Writes the eight WordPress keys and salts as a PHP file that wp-config.php requires.
# Usage: salts.sh FILE GROUP
#  - WP_AUTH_SALT_SEED set: every value is sha256(seed:NAME), rewritten at each boot, so the
#    same seed gives the same salts on every pod and a new seed takes effect.
#  - otherwise: random values, generated once; an existing FILE is kept (logins survive restarts).
# FILE is mode 0640, group GROUP (the php-fpm pool), owner root.
set -eu

file=$1
group=$2
names="AUTH_KEY SECURE_AUTH_KEY LOGGED_IN_KEY NONCE_KEY AUTH_SALT SECURE_AUTH_SALT LOGGED_IN_SALT NONCE_SALT"

if [ -z "${WP_AUTH_SALT_SEED:-}" ] && [ -s "$file" ]; then
    echo "salts: keeping $file"
    exit 0
fi

value() {
    if [ -n "${WP_AUTH_SALT_SEED:-}" ]; then
        printf '%s:%s' "$WP_AUTH_SALT_SEED" "$1" | sha256sum | cut -d ' ' -f 1
    else
        od -A n -t x1 -N 32 /dev/urandom | tr -d ' \n'
    fi
}

mkdir -p "$(dirname "$file")"
umask 027
tmp=$(mktemp "$file.XXXXXX")
trap 'rm -f "$tmp"' EXIT
{
    echo '<?php'
    for name in $names; do
        printf "define('%s', '%s');\n" "$name" "$(value "$name")"
    done
} >"$tmp"
chgrp "$group" "$tmp"
chmod 0640 "$tmp"
mv "$tmp" "$file"
trap - EXIT
if [ -n "${WP_AUTH_SALT_SEED:-}" ]; then
    echo "salts: derived from WP_AUTH_SALT_SEED into $file"
else
    echo "salts: generated $file"
fi
