"""`tiergate serve`."""

from __future__ import annotations

import click

from ..serve import run_server, server_url


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers", default=2, show_default=True, type=click.IntRange(1), help="Worker processes."
)
@click.option("--reload", is_flag=True, help="Restart workers when the code changes.")
def serve_command(host: str, port: int, workers: int, reload: bool) -> None:
    """Serve tiergate with gunicorn (settings come from TIERGATE_* variables)."""
    url = server_url(host, port)
    click.echo(f"tiergate serving on {url} (pricing: {url}/pricing, health: {url}/healthz)")
    run_server(host, port, workers, reload)
