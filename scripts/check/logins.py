"""Checks 6 and 7: the SSH and FTPS logins on the LB IP, with the host's own clients."""
import ftplib
import hashlib
import io
import os
import shutil
import ssl
import stat
import subprocess
import tempfile
import time

TIMEOUT = 20


def ssh(stack):
    """The SSH user logs in with its password and runs a command; root is refused. The password
    reaches ssh through SSH_ASKPASS (a script reading it from the environment), never argv."""
    if shutil.which("ssh") is None:
        return None, "no ssh client (install openssh-client)"
    user, password = stack.values["SSH_USER"], stack.values.get("SSH_PASSWORD")
    if not password:
        return None, "no SSH_PASSWORD in the credentials (key logins only)"
    with tempfile.TemporaryDirectory() as directory:
        askpass = os.path.join(directory, "askpass")
        with open(askpass, "w") as f:
            f.write('#!/bin/sh\nprintf \'%s\\n\' "$FT_CHECK_SSH_PASSWORD"\n')
        os.chmod(askpass, stat.S_IRWXU)
        environment = dict(os.environ, SSH_ASKPASS=askpass, SSH_ASKPASS_REQUIRE="force", DISPLAY=":0",
                           FT_CHECK_SSH_PASSWORD=password)

        def login(as_user, command):
            return subprocess.run(
                ["ssh", "-p", "22", "-o", "StrictHostKeyChecking=no", "-o", f"UserKnownHostsFile={directory}/known_hosts",
                 "-o", "PreferredAuthentications=password,keyboard-interactive", "-o", "PubkeyAuthentication=no",
                 "-o", "NumberOfPasswordPrompts=1", "-o", f"ConnectTimeout={TIMEOUT}", f"{as_user}@{stack.lb_ip}", command],
                env=environment, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIMEOUT * 2)

        mine = login(user, "echo ft-check-$((6 * 7)); id -un")
        if mine.returncode != 0 or "ft-check-42" not in mine.stdout:
            return False, f"{user}@{stack.lb_ip}: exit {mine.returncode}: {mine.stderr.strip()[-160:]}"
        root = login("root", "true")
        if root.returncode == 0:
            return False, f"{user} logs in, but root logged in too"
    return True, f"{user} logs in and runs a command ({mine.stdout.split()[-1]}); root refused"


class SessionReusingFTP_TLS(ftplib.FTP_TLS):
    """ftplib's FTPS client, but each data connection resumes the control connection's TLS
    session, which the ftps image requires (vsftpd require_ssl_reuse=YES; as curl and lftp do)."""

    def ntransfercmd(self, cmd, rest=None):
        connection, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            connection = self.context.wrap_socket(connection, server_hostname=self.host, session=self.sock.session)
        return connection, size


def ftps(stack):
    """Explicit TLS on 21: a 1 MiB upload, the listing, the download with the same SHA-256,
    in passive mode on the LB IP; a login without TLS is refused."""
    user, password, ip = stack.values["FTP_USER"], stack.values["FTP_PASSWORD"], stack.lb_ip
    payload = os.urandom(1 << 20)
    name = f"ft-check-{int(time.time())}.bin"
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    try:
        with SessionReusingFTP_TLS(context=context, timeout=TIMEOUT) as ftp:
            ftp.connect(ip, 21)
            ftp.auth()
            ftp.login(user, password)
            ftp.prot_p()
            ftp.set_pasv(True)
            host, port = ftplib.parse227(ftp.sendcmd("PASV"))
            if host != ip or not 30000 <= port <= 30004:
                return False, f"PASV answers {host}:{port}, not {ip}:30000-30004"
            ftp.storbinary(f"STOR {name}", io.BytesIO(payload))
            listed = name in ftp.nlst()
            received = io.BytesIO()
            ftp.retrbinary(f"RETR {name}", received.write)
            ftp.delete(name)
    except (OSError, ftplib.Error, EOFError) as error:
        return False, f"FTPS as {user} on {ip}:21: {error}"
    if not listed or hashlib.sha256(received.getvalue()).digest() != hashlib.sha256(payload).digest():
        return False, f"1 MiB uploaded; listed: {listed}; downloaded {len(received.getvalue())} bytes, checksum differs"
    try:
        with ftplib.FTP(timeout=TIMEOUT) as plain:
            plain.connect(ip, 21)
            plain.login(user, password)
        return False, "FTPS works, but a login without TLS was accepted"
    except ftplib.error_perm as refused:
        plain_answer = str(refused)[:60]
    except (OSError, EOFError) as error:
        plain_answer = f"closed: {error}"
    return True, f"TLS login, 1 MiB up, listed, down with the same SHA-256, passive {host}:{port}; plain FTP refused ({plain_answer})"
