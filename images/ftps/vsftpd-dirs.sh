#!/bin/sh
# vsftpd-dirs.sh: what vsftpd needs before it starts: the empty directory its
# unprivileged processes chroot into (secure_chroot_dir) and the FIFO its log goes through.
# vsftpd gives each session the client socket as fds 0, 1 and 2, so it cannot log to
# /dev/stdout or /dev/stderr; the vsftpd-log service copies this FIFO to ftinit's output.
set -eu

mkdir -p /usr/share/empty /run/vsftpd
fifo=/run/vsftpd/log.fifo
if [ ! -p "$fifo" ]; then
    rm -f "$fifo"
    mkfifo -m 600 "$fifo"
fi
