"""A throwaway IMAP server for the tests: Debian's Dovecot with a configuration of its own in a temporary
folder, IMAP with STARTTLS and IMAPS on free loopback ports, a certificate of its own (the CA file the
fetcher is told to trust), and one mailbox user.

As root the mail processes run as `nobody` (Dovecot refuses mail access as root); otherwise everything
runs as the current user.
"""

import contextlib
import datetime
import grp
import ipaddress
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from imapclient import IMAPClient

from tests.postgres import free_port

USER = "support"
PASSWORD = "imap-test-password"
DH_PARAMS = Path("/usr/share/dovecot/dh.pem")


def find_dovecot() -> str | None:
    return shutil.which("dovecot") or next(
        (p for p in ("/usr/sbin/dovecot",) if os.access(p, os.X_OK)), None
    )


class Dovecot:
    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.root = Path(tempfile.mkdtemp(prefix="kip-imap-"))
        self.starttls_port = free_port()
        self.imaps_port = free_port()
        self.ca_file = self.root / "cert.pem"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> "Dovecot":
        self._certificate()
        as_root = os.geteuid() == 0
        me = pwd.getpwuid(os.getuid()).pw_name
        group = grp.getgrgid(os.getgid()).gr_name
        login_user, internal_user, internal_group = (
            ("dovenull", "dovecot", "dovecot") if as_root else (me, me, group)
        )
        mail_user, mail_group = ("nobody", "nogroup") if as_root else (me, group)
        for folder in ("run", "state", "mail", "home"):
            (self.root / folder).mkdir()
        if as_root:
            for folder in ("mail", "home"):
                shutil.chown(self.root / folder, mail_user, mail_group)
            os.chmod(self.root, 0o755)  # noqa: S103 (the mail user must reach its folders)
        (self.root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        dh = f"ssl_dh = <{DH_PARAMS}\n" if DH_PARAMS.exists() else ""
        (self.root / "dovecot.conf").write_text(
            f"""
protocols = imap
listen = 127.0.0.1
base_dir = {self.root}/run
state_dir = {self.root}/state
instance_name = kip-imap-{self.starttls_port}
log_path = {self.root}/dovecot.log
ssl = yes
ssl_cert = <{self.root}/cert.pem
ssl_key = <{self.root}/key.pem
{dh}disable_plaintext_auth = yes
auth_mechanisms = plain login
default_login_user = {login_user}
default_internal_user = {internal_user}
default_internal_group = {internal_group}
mail_location = maildir:{self.root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.root}/users
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_group} home={self.root}/home/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.starttls_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.imaps_port}
    ssl = yes
  }}
}}
"""
        )
        self.start_again()
        return self

    def _wait(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                errors = self.root.joinpath("stderr.log").read_text(errors="replace")
                raise RuntimeError(f"dovecot exited: {errors[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.starttls_port), timeout=1) as s:
                    if s.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("dovecot did not start listening")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def start_again(self) -> None:
        """Start the configured server (again, after `stop`)."""
        with self.root.joinpath("stderr.log").open("ab") as errors:
            self.process = subprocess.Popen(
                [self.binary, "-F", "-c", str(self.root / "dovecot.conf")],
                stdout=subprocess.DEVNULL,
                stderr=errors,
            )
        self._wait()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def config(self, security: str = "ssl") -> dict[str, object]:
        """The app's settings for this server."""
        return {
            "INBOUND_IMAP_HOST": "127.0.0.1",
            "INBOUND_IMAP_PORT": self.imaps_port if security == "ssl" else self.starttls_port,
            "INBOUND_IMAP_SECURITY": security,
            "INBOUND_IMAP_USERNAME": USER,
            "INBOUND_IMAP_PASSWORD": PASSWORD,
            "INBOUND_IMAP_CA_FILE": str(self.ca_file),
            "INBOUND_IMAP_TIMEOUT": 5,
        }

    def _certificate(self) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
        now = datetime.datetime.now(datetime.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
                ),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        self.ca_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        (self.root / "key.pem").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        os.chmod(self.root / "key.pem", 0o600)


class Mailbox:
    """A client of the test server, as the MTA's delivery and as an operator's eyes."""

    def __init__(self, server: Dovecot) -> None:
        context = ssl.create_default_context(cafile=str(server.ca_file))
        self.client = IMAPClient(
            "127.0.0.1", server.imaps_port, ssl=True, ssl_context=context, timeout=10
        )
        self.client.login(USER, PASSWORD)

    def deliver(self, raw: bytes, folder: str = "INBOX") -> None:
        self.client.append(folder, raw)

    def count(self, folder: str) -> int:
        if not self.client.folder_exists(folder):
            return 0
        return self.client.folder_status(folder, ["MESSAGES"])[b"MESSAGES"]

    def empty(self) -> None:
        for _flags, _delimiter, name in self.client.list_folders():
            if name != "INBOX":
                self.client.delete_folder(name)
        self.client.select_folder("INBOX")
        messages = self.client.search("ALL")
        if messages:
            self.client.delete_messages(messages)
            self.client.expunge()
        self.client.unselect_folder()

    def close(self) -> None:
        with contextlib.suppress(Exception):  # a test may have stopped the server
            self.client.logout()
