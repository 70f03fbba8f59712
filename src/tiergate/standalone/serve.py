"""Run tiergate under gunicorn: each worker builds its own app from the TIERGATE_* settings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click
from flask import Flask
from gunicorn.app.base import BaseApplication

F = TypeVar("F", bound=Callable[..., Any])


def listen_options(command: F) -> F:
    """Add the --host, --port and --workers options every serving command shares."""
    workers = click.option(
        "--workers", default=2, show_default=True, type=click.IntRange(1), help="Worker processes."
    )
    port = click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
    host = click.option(
        "--host", default="127.0.0.1", show_default=True, help="Address to listen on."
    )
    return host(port(workers(command)))


class TiergateServer(BaseApplication):
    """A gunicorn application whose workers each load ``tiergate.create_app()``."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            # Settings this gunicorn does not have (an older release) are left out.
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self) -> Flask:
        # Imported in the worker so that each worker reads the same environment afresh and
        # opens its own database connections (none are shared across the fork).
        from . import create_app

        return create_app()


def server_options(host: str, port: int, workers: int, reload: bool) -> dict[str, Any]:
    """Return the gunicorn settings for ``tiergate serve``."""
    return {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "reload": reload,
        "accesslog": "-",
        "errorlog": "-",
        "proc_name": "tiergate",
        # The control socket's default path is shared by every gunicorn of the same user, so
        # two servers on one machine would fight over it; tiergate does not use it.
        "control_socket_disable": True,
    }


def server_url(host: str, port: int) -> str:
    """Return the URL a browser uses to reach ``host``:``port``."""
    # A wildcard address listens everywhere, but a browser must be given a real one.
    shown = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
    shown = f"[{shown}]" if ":" in shown else shown
    return f"http://{shown}:{port}"


def run_server(host: str, port: int, workers: int, reload: bool) -> None:
    """Serve tiergate with gunicorn until it is stopped."""
    TiergateServer(server_options(host, port, workers, reload)).run()


@click.command("serve")
@listen_options
@click.option("--reload", is_flag=True, help="Restart workers when the code changes.")
def serve_command(host: str, port: int, workers: int, reload: bool) -> None:
    """Serve tiergate with gunicorn (settings come from TIERGATE_* variables)."""
    url = server_url(host, port)
    click.echo(f"tiergate serving on {url} (pricing: {url}/pricing, health: {url}/healthz)")
    run_server(host, port, workers, reload)
