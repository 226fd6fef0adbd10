"""``carecall themes``: the theme vocabulary, trying a text, confirming tags by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from calls.clock import now_utc
from calls.commands import common
from calls.errors import UserError

themes_app = typer.Typer(
    help="Themes of what customers say: the vocabulary, suggestions, confirming tags.",
    invoke_without_command=True,
    no_args_is_help=False,
)

PolicyOption = Annotated[
    Path | None,
    typer.Option("--policy", help="Policy TOML (default: $CARECALL_POLICY, else the "
                 "built-in vocabulary).", show_default=False),
]


def _policy(path: Path | None):
    from calls.policy import load_policy

    return load_policy(path)


@themes_app.callback()
def themes_list(ctx: typer.Context, policy: PolicyOption = None,
                json_out: common.JsonOption = False) -> None:
    """The theme vocabulary: each theme with its keywords per language."""
    if ctx.invoked_subcommand is not None:
        return
    with common.user_errors():
        pol = _policy(policy)
    themes = pol.themes.vocabulary
    if json_out:
        typer.echo(json.dumps([{"theme": t.key, "label": t.label,
                                "keywords": {k: list(v) for k, v in t.words.items()}}
                               for t in themes], ensure_ascii=False))
        return
    table = Table(title=f"{len(themes)} themes", title_justify="left")
    table.add_column("theme", no_wrap=True)
    table.add_column("keywords", overflow="fold", ratio=1)
    for t in themes:
        words = "; ".join(f"{lang}: {', '.join(w)}" for lang, w in t.words.items())
        table.add_row(escape(f"{t.key}\n{t.label}"), escape(words))
    common.console.print(table)


@themes_app.command("suggest")
def themes_suggest(
    text: Annotated[str, typer.Argument(metavar="TEXT", help="What a customer said.")],
    policy: PolicyOption = None,
    json_out: common.JsonOption = False,
) -> None:
    """The themes the keywords suggest for a text (to try the vocabulary)."""
    from calls.themes import suggest, theme_hits

    with common.user_errors():
        pol = _policy(policy)
    found = suggest(text, pol.themes)
    if json_out:
        typer.echo(json.dumps({"themes": found, "hits": theme_hits(text, pol.themes)}))
        return
    common.console.print(", ".join(found) if found else "No theme.", markup=False,
                         highlight=False)


@themes_app.command("tag")
def themes_tag(
    themes: Annotated[list[str] | None, typer.Argument(
        metavar="THEME...", help="The themes (none: confirm that it has no theme).",
        show_default=False)] = None,
    call: Annotated[int | None, typer.Option("--call", help="An answer's call id.",
                                             show_default=False)] = None,
    key: Annotated[str | None, typer.Option("--key", help="The answer's question key.",
                                            show_default=False)] = None,
    followup: Annotated[int | None, typer.Option("--followup", help="A follow-up's id.",
                                                 show_default=False)] = None,
    root_cause: Annotated[bool, typer.Option(
        "--root-cause", help="With --followup: the fix removed the cause for everyone.")] = False,
    policy: PolicyOption = None,
    caller: common.CallerOption = None,
    db: common.DbOption = None,
) -> None:
    """Confirm the themes of an open answer (--call ID --key KEY) or a follow-up
    (--followup ID); confirmed themes win over suggested ones in every report."""
    from calls.themes import confirm_answer_themes, tag_followup

    me = common.resolve_caller(caller)
    store = common.open_store(db)
    with common.user_errors():
        pol = _policy(policy)
        if (followup is None) == (call is None):
            raise UserError("give --call ID --key KEY (an answer) or --followup ID")
        if followup is not None:
            if key is not None:
                raise UserError("--key goes with --call, not --followup")
            tagged = tag_followup(store, followup, now_utc(), me, chosen=themes or [],
                                  root_cause=root_cause, policy=pol)
            chosen = tagged.themes
        else:
            if key is None:
                raise UserError("--call needs --key (the question key of the open answer)")
            if root_cause:
                raise UserError("--root-cause is for a follow-up (a fix), not an answer")
            chosen = confirm_answer_themes(store, call, key, themes or [], now_utc(), me, pol)
    what = f"follow-up #{followup}" if followup is not None else f"call #{call} {key}"
    common.console.print(f"Confirmed for {what}: {', '.join(chosen) or 'no theme'}.",
                         markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``themes`` to the app."""
    app.add_typer(themes_app, name="themes")
