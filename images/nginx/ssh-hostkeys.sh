#!/bin/sh
# ssh-hostkeys.sh DIR: make sshd's host keys in DIR, once. A key whose private or public
# half is missing (e.g. an interrupted first boot) is made again; existing keys are kept.
set -eu

dir=${1:?usage: ssh-hostkeys.sh DIR}
mkdir -p "$dir"
for type in ed25519 ecdsa rsa; do
    key="$dir/ssh_host_${type}_key"
    if [ -s "$key" ] && [ -s "$key.pub" ]; then
        continue
    fi
    rm -f "$key" "$key.pub"
    ssh-keygen -q -t "$type" -N '' -C "nginx host key" -f "$key"
    echo "ssh-hostkeys: generated $key"
done
