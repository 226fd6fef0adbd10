"""carecall serve: browser seats through textual-serve (see docs/team.md)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from calls.commands import common

SERVE_HELP = (
    "Serve the shift app to browsers: each browser tab is one seat with its own login.\n\n"
    "It listens on the loopback address (127.0.0.1) unless --host says otherwise. The "
    "connection is plain HTTP and websockets: before anyone reaches it over a network, put "
    "TLS in front of it (a reverse proxy such as nginx or Caddy terminating HTTPS and "
    "passing websockets on to this port) and expose only the proxy.\n\n"
    "Once accounts exist, every tab opens on the login screen. Stop it with ctrl+c."
)


def app_command(db_path: Path, policy: Path | None, script: str | None) -> str:
    """The shell command textual-serve runs for each browser tab: this carecall's shift."""
    parts = [sys.executable, "-c", "from calls.cli import main; main()", "shift",
             "--db", str(db_path)]
    if policy is not None:
        parts += ["--policy", str(Path(policy).expanduser().resolve())]
    if script:
        parts += ["--script", script]
    return shlex.join(parts)


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the app."""

    @app.command("serve", help=SERVE_HELP)
    def serve(
        host: Annotated[str, typer.Option(
            "--host", help="Address to listen on (loopback by default; anything else "
            "needs TLS in front).")] = "127.0.0.1",
        port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
        public_url: Annotated[str | None, typer.Option(
            "--public-url", help="The address browsers use (the reverse proxy's https URL).",
            show_default=False)] = None,
        script: Annotated[str | None, typer.Option(
            "--script", help="Script name or TOML file for every call.")] = None,
        policy: common.PolicyOption = None,
        db: common.DbOption = None,
    ) -> None:
        from textual_serve.server import Server

        from calls.store import resolve_db_path

        common.load_policy_option(policy)  # a bad policy is one line now, not in every tab
        store = common.open_store(db)
        store.close()
        path = resolve_db_path(db).resolve()
        if host not in ("127.0.0.1", "localhost", "::1"):
            common.err_console.print(
                f"[bold yellow]warning:[/] serving on {host}: plain HTTP; put TLS (a reverse "
                "proxy) in front before anyone reaches it over a network", highlight=False)
        common.console.print(f"carecall seats on http://{host}:{port} for {path} (ctrl+c stops)",
                             highlight=False, soft_wrap=True)
        server = Server(app_command(path, policy, script), host=host, port=port,
                        title="carecall", public_url=public_url)
        server.serve()
