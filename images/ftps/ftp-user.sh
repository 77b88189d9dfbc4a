#!/bin/sh
# ftp-user.sh: the FTP login. Creates FTP_USER once, with its home /home/FTP_USER (the chroot
# it uploads to), and sets its password from FTP_PASSWORD.
# Idempotent: an existing user is kept and only its password and home ownership are (re)set.
set -eu

fail() {
    echo "ftp-user: $*" >&2
    exit 78
}

user=${FTP_USER:?FTP_USER is required}
password=${FTP_PASSWORD:?FTP_PASSWORD is required}

if ! id -u "$user" >/dev/null 2>&1; then
    # busybox adduser; -D: no password yet (set below).
    adduser -D -h "/home/$user" -s /bin/sh "$user"
    echo "ftp-user: created user $user"
fi
[ "$(id -u "$user")" -ne 0 ] || fail "refusing to manage a uid 0 account ($user)"
home=$(awk -F: -v u="$user" '$1 == u { print $6 }' /etc/passwd)
[ -n "$home" ] || fail "no home directory for $user in /etc/passwd"

printf '%s:%s\n' "$user" "$password" | chpasswd
mkdir -p "$home"
chown "$user:$(id -g "$user")" "$home"
chmod 755 "$home"
echo "ftp-user: $user ready (home $home)"
