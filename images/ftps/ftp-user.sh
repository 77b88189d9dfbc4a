#!/bin/sh
# ftp-user.sh: the FTP login. Creates FTP_USER once, with its home (the chroot it uploads to)
# under FT_ROOT, and sets its password from FTP_PASSWORD.
# Idempotent: an existing user is kept and only its password and home ownership are (re)set.
set -eu

fail() {
    echo "ftp-user: $*" >&2
    exit 78
}

user=${FTP_USER:?FTP_USER is required}
password=${FTP_PASSWORD:?FTP_PASSWORD is required}
root=${FT_ROOT:-}

if ! id -u "$user" >/dev/null 2>&1; then
    mkdir -p "$root/home"
    # Debian (shadow) has useradd; Alpine has busybox adduser (-D: no password yet).
    # /bin/sh: Debian's PAM stack for vsftpd (pam_shells) wants a shell from /etc/shells.
    if command -v useradd >/dev/null 2>&1; then
        useradd -m -d "$root/home/$user" -s /bin/sh "$user"
    else
        adduser -D -h "$root/home/$user" -s /bin/sh "$user"
    fi
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
