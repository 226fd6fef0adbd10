"""carecall serve: browser seats through textual-serve (see docs/team.md)."""

from __future__ import annotations

import re
import shlex
import sys
import tempfile
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


# textual-serve's page loads its font from Google Fonts: the browser would tell Google
# whenever a seat opens. The page served here uses the same font from textual-serve's own
# static folder instead, so a browser seat fetches nothing from outside this server.
_WEB_FONT = re.compile(r'<link\s[^>]*href="https?://fonts\.(?:googleapis|gstatic)\.com[^"]*"\s*/?>',
                       re.IGNORECASE)
_LOCAL_FONT = """<style>
      @font-face {
        font-family: "Roboto Mono";
        src: url("{{ config.static.url }}fonts/RobotoMono-VariableFont_wght.ttf") format("truetype");
        font-weight: 100 700;
        font-style: normal;
      }
      @font-face {
        font-family: "Roboto Mono";
        src: url("{{ config.static.url }}fonts/RobotoMono-Italic-VariableFont_wght.ttf") format("truetype");
        font-weight: 100 700;
        font-style: italic;
      }
    </style>"""
# What a page may name without fetching it: XML namespaces (the logo's svg).
_NOT_FETCHED = ("http://www.w3.org/",)


def external_references(page: str) -> list[str]:
    """Addresses in a page template or page that are not this server's own (relative,
    or the template's ``{{ ... }}`` URLs): what a browser would fetch from elsewhere."""
    found = re.findall(r"""(?:https?:)?//[^\s"')<>]+""", page)
    return [url for url in found if not url.startswith(_NOT_FETCHED)
            and not re.match(r"(?:https?:)?//(?:127\.0\.0\.1|localhost|\[::1\])[:/]", url)]


def local_page(folder: Path) -> Path:
    """Write textual-serve's page template into ``folder`` with the web font taken from
    the package's static folder; UserError if anything else in it would still reach out."""
    import textual_serve

    from calls.errors import UserError

    source = Path(textual_serve.__file__).parent / "templates" / "app_index.html"
    page = _WEB_FONT.sub(_LOCAL_FONT, source.read_text(encoding="utf-8"))
    outside = external_references(page)
    if outside:
        raise UserError(f"textual-serve's page ({source}) loads {', '.join(outside)}: "
                        "carecall serves nothing from outside the server; update carecall")
    (folder / "app_index.html").write_text(page, encoding="utf-8")
    return folder


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
        store = common.open_store(db, create=True)
        store.close()
        path = resolve_db_path(db).resolve()
        if host not in ("127.0.0.1", "localhost", "::1"):
            common.err_console.print(
                f"[bold yellow]warning:[/] serving on {host}: plain HTTP; put TLS (a reverse "
                "proxy) in front before anyone reaches it over a network", highlight=False)
        common.console.print(f"carecall seats on http://{host}:{port} for {path} (ctrl+c stops)",
                             highlight=False, soft_wrap=True)
        with tempfile.TemporaryDirectory(prefix="carecall-serve-") as pages:
            with common.user_errors():
                local_page(Path(pages))
            server = Server(app_command(path, policy, script), host=host, port=port,
                            title="carecall", public_url=public_url, templates_path=pages)
            server.serve()
