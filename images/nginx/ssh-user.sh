#!/bin/sh
# ssh-user.sh: the SSH login. Creates SSH_USER once (home /home/SSH_USER), sets its password
# from SSH_PASSWORD and its keys from SSH_AUTHORIZED_KEYS (at least one of the two), and
# writes sshd's drop-in: PasswordAuthentication yes only when a password is set.
# Idempotent: an existing user is kept and only its password and keys are (re)set.
set -eu

fail() {
    echo "ssh-user: $*" >&2
    exit 78
}

user=${SSH_USER:?SSH_USER is required}
password=${SSH_PASSWORD:-}
keys=${SSH_AUTHORIZED_KEYS:-}
[ -n "$password$keys" ] || fail "set SSH_PASSWORD or SSH_AUTHORIZED_KEYS"

if ! id -u "$user" >/dev/null 2>&1; then
    # busybox adduser; -D: no password yet (set below).
    adduser -D -h "/home/$user" -s /bin/sh "$user"
    echo "ssh-user: created user $user"
fi
[ "$(id -u "$user")" -ne 0 ] || fail "refusing to manage a uid 0 account ($user)"
home=$(awk -F: -v u="$user" '$1 == u { print $6 }' /etc/passwd)
[ -n "$home" ] || fail "no home directory for $user in /etc/passwd"

if [ -n "$password" ]; then
    printf '%s:%s\n' "$user" "$password" | chpasswd
    auth=yes
else
    # '*': no password can match, but the account is not locked ('!'), which sshd
    # without PAM would also refuse for key logins.
    printf '%s:*\n' "$user" | chpasswd -e
    auth=no
fi

group=$(id -g "$user")
mkdir -p "$home/.ssh"
if [ -n "$keys" ]; then
    printf '%s\n' "$keys" >"$home/.ssh/authorized_keys"
    chmod 600 "$home/.ssh/authorized_keys"
else
    rm -f "$home/.ssh/authorized_keys"
fi
chown "$user:$group" "$home" "$home/.ssh"
[ ! -e "$home/.ssh/authorized_keys" ] || chown "$user:$group" "$home/.ssh/authorized_keys"
chmod 755 "$home"
chmod 700 "$home/.ssh"

mkdir -p /etc/ssh/sshd_config.d
printf 'PasswordAuthentication %s\n' "$auth" >/etc/ssh/sshd_config.d/ft-auth.conf
echo "ssh-user: $user ready (password login: $auth)"
