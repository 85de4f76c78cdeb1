"""A local stand-in for an organization's Dagster+ GraphQL API: open-source webservers, one per deployment, behind
one host that picks the deployment by header, as Dagster+ does.

Dagster+ serves every deployment of an organization from one host; a client names the deployment in the header
``Dagster-Cloud-Deployment`` and authenticates with ``Dagster-Cloud-Api-Token`` (dagster_cloud_cli/core/headers/
auth.py and impl.py; ``graphql_client.py`` posts to ``<url>/graphql``). Its GraphQL schema extends the open-source
webserver's (dagster_graphql), which answers ``launchRun``, ``runOrError``, ``logsForRun`` and ``assetNodes`` here
for real: runs are launched by the real ``dagster-cloud`` CLI and executed by Dagster, in a subprocess per run
(``DefaultRunCoordinator``: Dagster+ has no daemon to wait for either).

The router is as strict as Dagster+ where the scripts could go wrong: a request without a token is refused with 401,
and one naming no deployment, or a deployment the organization does not have, with 404.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

from hn_testing.http_stand_in import JsonHandler, serve

INSTANCE_YAML = """\
run_coordinator:
  module: dagster._core.run_coordinator
  class: DefaultRunCoordinator
telemetry:
  enabled: false
"""
STARTUP_SECONDS = 90


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def prepare_home(home: Path) -> Path:
    """A Dagster instance folder whose runs start at once, in a subprocess each."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(INSTANCE_YAML, encoding="utf-8")
    return home


class Webserver:
    """An open-source Dagster webserver on ``workspace`` (or none: the instance's runs and events only, which
    starts in a fraction of the time) and the instance in ``home``, started at once; ``wait`` until it serves."""

    def __init__(self, workspace: Path | None, home: Path, env: Mapping[str, str], log: Path) -> None:
        port = free_port()
        code = ["-w", str(workspace)] if workspace else ["--empty-workspace"]
        command = [sys.executable, "-m", "dagster_webserver", *code, "-h", "127.0.0.1", "-p", str(port)]
        environment = {**os.environ, **env, "DAGSTER_HOME": str(prepare_home(home))}
        self.log = log
        with open(log, "w", encoding="utf-8") as output:
            self.process = subprocess.Popen(command, env=environment, stdout=output, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{port}"

    def wait(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/server_info", timeout=2).close()
                return
            except (urllib.error.URLError, ConnectionError):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the webserver did not start:\n{self.log.read_text()[-3000:]}") from None
                time.sleep(0.3)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


@contextmanager
def webservers(**servers: tuple[Path | None, Path, Mapping[str, str], Path]) -> Iterator[dict[str, Webserver]]:
    """Webservers by deployment name, all started at once (each takes seconds to load its code: do other work,
    then ``wait`` for them); stopped on exit."""
    started: dict[str, Webserver] = {}
    try:
        for name, arguments in servers.items():
            started[name] = Webserver(*arguments)
        yield started
    finally:
        for server in started.values():
            server.stop()


class Router(JsonHandler):
    deployments: ClassVar[dict[str, str]] = {}

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = self.read_body()
        if not self.headers.get("Dagster-Cloud-Api-Token"):
            return self.send_bytes(401, b'{"error": "Unauthorized: no Dagster-Cloud-Api-Token"}')
        target = self.deployments.get(self.headers.get("Dagster-Cloud-Deployment", ""))
        if target is None or self.path.rstrip("/") != "/graphql":
            return self.send_bytes(404, b'{"error": "Deployment not found"}')
        request = urllib.request.Request(
            f"{target}/graphql", data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return self.send_bytes(response.status, response.read())
        except urllib.error.HTTPError as error:
            return self.send_bytes(error.code, error.read())


def organization(deployments: Mapping[str, str]):
    """One host for ``deployments`` (name: webserver URL), choosing by header: a context manager yielding its URL."""
    return serve(type("OrganizationRouter", (Router,), {"deployments": dict(deployments)}))
