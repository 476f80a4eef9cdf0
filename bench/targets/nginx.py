"""nginx as the reference server: one worker, a config written to a temporary directory.

It owns the config text (pure, testable) and the life of one nginx: pid file, error log
and temp paths all live in the temporary directory, so nothing outside it is touched;
nginx runs in the foreground pinned to a CPU and is stopped by its PID.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from bench.targets.process import PinnedProcess, free_port

SYSTEM_MIME_TYPES = Path("/etc/nginx/mime.types")
# Debian installs nginx in /usr/sbin, which is not on an ordinary user's PATH.
_SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
_FALLBACK_TYPES = "types { text/html html; text/css css; application/javascript js; }"


def find_nginx() -> str | None:
    """Path of the nginx binary, or None when it is not installed."""
    return shutil.which("nginx", path=_SEARCH_PATH)


def nginx_version(binary: str) -> str:
    """What `nginx -v` says, e.g. 'nginx/1.22.1'."""
    done = subprocess.run([binary, "-v"], capture_output=True, text=True, timeout=10, check=False)
    return (done.stderr or done.stdout).strip().removeprefix("nginx version: ")


def _user_line() -> str:
    # As root, nginx would switch its worker to `nobody`, who may not read the root dir:
    # keep the invoking identity instead. As another user the directive is ignored.
    if os.geteuid() != 0:
        return ""
    user = pwd.getpwuid(os.geteuid()).pw_name
    group = grp.getgrgid(os.getegid()).gr_name
    return f"user {user} {group};\n"


def nginx_config(
    root: Path,
    port: int,
    workdir: Path,
    mime_types: Path | None,
    *,
    error_log: Path | None = None,
    backlog: int | None = None,
) -> str:
    """The whole nginx.conf: 1 worker, foreground, no access log, everything in `workdir`.

    `error_log` may point elsewhere (a run's log directory); `backlog` sets the listen
    queue (None: nginx's default, 511 on Linux).
    """
    types = f"include {mime_types};" if mime_types is not None else _FALLBACK_TYPES
    listen = f"127.0.0.1:{port}" + (f" backlog={backlog}" if backlog is not None else "")
    temp = "\n".join(
        f"    {kind}_temp_path {workdir / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""{_user_line()}daemon off;
worker_processes 1;
pid {workdir / "nginx.pid"};
error_log {error_log or workdir / "error.log"} warn;
events {{
    worker_connections 4096;
}}
http {{
    {types}
    default_type application/octet-stream;
    access_log off;
    log_not_found off;  # a 404 costs no log write: ours logs none either
    sendfile on;
{temp}
    server {{
        listen {listen};
        root {root};
        index index.html;
    }}
}}
"""


class NginxServer:
    """A running nginx serving `root`; a context manager that always stops it."""

    def __init__(
        self,
        binary: str,
        root: Path,
        *,
        cpus: Sequence[int] | None = None,
        log_dir: Path | None = None,
        own_group: bool = False,
        backlog: int | None = None,
    ) -> None:
        self.binary = binary
        self.root = root.resolve()
        self.cpus = cpus
        self.log_dir = log_dir  # None: logs stay in (and go with) the temporary directory
        self.own_group = own_group
        self.backlog = backlog
        self._workdir = tempfile.TemporaryDirectory(prefix="staticbench-nginx-")
        self._child: PinnedProcess | None = None

    @property
    def workdir(self) -> Path:
        """The temporary directory holding config, pid file, logs and temp paths."""
        return Path(self._workdir.name)

    @property
    def url(self) -> str:
        """Base URL of the server."""
        assert self._child is not None
        return self._child.url

    @property
    def pid(self) -> int:
        """PID of the nginx master."""
        assert self._child is not None
        return self._child.pid

    def start(self) -> Self:
        """Write the config and start nginx; raises ChildStartError with nginx's stderr."""
        mime = SYSTEM_MIME_TYPES if SYSTEM_MIME_TYPES.is_file() else None
        port = free_port()
        config = self.workdir / "nginx.conf"
        text = nginx_config(
            self.root, port, self.workdir, mime, error_log=self.error_log, backlog=self.backlog
        )
        config.write_text(text, encoding="utf-8")
        # -e: even startup errors go to the error log, never to a default path outside.
        argv = [self.binary, "-p", str(self.workdir), "-c", str(config), "-e", str(self.error_log)]
        stderr = self.log_dir / "nginx.log" if self.log_dir is not None else None
        self._child = PinnedProcess(
            argv, port, cpus=self.cpus, log=stderr, own_group=self.own_group
        )
        self._child.start()
        return self

    @property
    def error_log(self) -> Path:
        """nginx's error log: in `log_dir` when given, else in the temporary directory."""
        if self.log_dir is not None:
            return self.log_dir / "nginx-error.log"
        return self.workdir / "error.log"

    def stop(self) -> None:
        """Stop nginx (SIGTERM: fast shutdown) and remove the temporary directory."""
        try:
            if self._child is not None:
                self._child.close()
        finally:
            self._workdir.cleanup()

    def __enter__(self) -> Self:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
