"""`tiergate serve`."""

from __future__ import annotations

import click

from ..serve import listen_options, run_server, server_url


@click.command("serve")
@listen_options
@click.option("--reload", is_flag=True, help="Restart workers when the code changes.")
def serve_command(host: str, port: int, workers: int, reload: bool) -> None:
    """Serve tiergate with gunicorn (settings come from TIERGATE_* variables)."""
    url = server_url(host, port)
    click.echo(f"tiergate serving on {url} (pricing: {url}/pricing, health: {url}/healthz)")
    run_server(host, port, workers, reload)
