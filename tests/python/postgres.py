"""A real PostgreSQL 15 server for the Redshift destination tests: its own cluster in a fresh
directory, password (SCRAM) authentication on 127.0.0.1 and a free port, started with
initdb/pg_ctl as the `postgres` user (they refuse root), stopped and removed afterwards.
`scripts/test` installs postgresql-15 when it is missing and says where its binaries are
(SPATE_PG_BIN)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

PG_BIN = Path(os.environ.get("SPATE_PG_BIN", "/usr/lib/postgresql/15/bin"))
SUPERUSER = "postgres"
PASSWORD = "spate-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgreSQL:
    """`tls`: a directory with `cert.pem` and `key.pem` (as `spate cert generate` writes them):
    the server then takes TLS connections only."""

    def __init__(self, tls: Path | None = None) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="spate-pg-", dir="/tmp"))
        self.port = free_port()
        self.tls = tls

    def _as_postgres(self, *command: str, **kw) -> subprocess.CompletedProcess:
        if os.geteuid() == 0:
            command = ("runuser", "-u", "postgres", "--", *command)
        return subprocess.run(command, check=True, capture_output=True, text=True, **kw)

    def start(self) -> "PostgreSQL":
        data = self.dir / "data"
        pwfile = self.dir / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            shutil.chown(pwfile, "postgres", "postgres")
        self._as_postgres(str(PG_BIN / "initdb"), "-D", str(data), "-U", SUPERUSER, "-A", "scram-sha-256",
                          f"--pwfile={pwfile}", "--no-sync")
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        if self.tls is not None:
            options += self._tls_only(data)
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(self.dir / "log"), "-w", "start")
        return self

    def _tls_only(self, data: Path) -> str:
        """Copies the certificate and key in (the key must be the server user's, mode 0600) and
        lets TCP clients in over TLS only (`hostssl`)."""
        for name in ("cert.pem", "key.pem"):
            target = self.dir / name
            shutil.copy(self.tls / name, target)
            target.chmod(0o600)
            if os.geteuid() == 0:
                shutil.chown(target, "postgres", "postgres")
        hba = data / "pg_hba.conf"
        lines = [("hostssl" + line[4:]) if line.startswith("host ") else line for line in self._read(hba).splitlines()]
        self._write(hba, "\n".join(lines) + "\n")
        return f" -c ssl=on -c ssl_cert_file={self.dir / 'cert.pem'} -c ssl_key_file={self.dir / 'key.pem'}"

    def _read(self, path: Path) -> str:
        return self._as_postgres("cat", str(path)).stdout

    def _write(self, path: Path, text: str) -> None:
        self._as_postgres("tee", str(path), input=text)

    def stop(self) -> None:
        try:
            self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def jdbc_url(self) -> str:
        return f"jdbc:postgresql://127.0.0.1:{self.port}/{SUPERUSER}"

    def _psql_args(self) -> list[str]:
        return ["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, "-d", SUPERUSER,
                "-v", "ON_ERROR_STOP=1", "-X", "-q", "-A", "-t", "-F", "|"]

    def sql(self, statement: str) -> list[list[str]]:
        """Runs `statement` with psql; the rows it returns, fields split at `|`."""
        env = {**os.environ, "PGPASSWORD": PASSWORD}
        out = subprocess.run([*self._psql_args(), "-c", statement], check=True, capture_output=True,
                             text=True, env=env).stdout
        return [line.split("|") for line in out.splitlines() if line]

    def hold(self, script: str) -> subprocess.Popen:
        """A psql session running `script` and then waiting on stdin (kill it to end it)."""
        env = {**os.environ, "PGPASSWORD": PASSWORD}
        session = subprocess.Popen(self._psql_args(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, env=env)
        session.stdin.write(script + "\n")
        session.stdin.flush()
        return session
