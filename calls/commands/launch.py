"""Starting the Textual apps from a command: the only module of the core that touches
the UI (``carecall shift``, ``carecall dashboard``, ``carecall demo``).

Textual and ``tui`` are imported inside these functions, never at module level, so that
no other command pays for them (a test holds it).
"""

from __future__ import annotations


def run_shift_app(db_path, caller: str, *, script, policy, clock, actor=None,
                  seat: str = "terminal", config=None):
    """Build the shift app with the shared factory and run it; returns the shift's figures."""
    from calls.store import checkpoint_in_background
    from tui.app import make_app

    # A seat's step never copies the write-ahead log within its own commit.
    checkpoint_in_background()

    return make_app(db_path, caller, script=script, policy=policy, clock=clock, actor=actor,
                    seat=seat, config=config).run()


def check_ui_config(config) -> None:
    """Raise ``ConfigError`` for a ``[keymap]`` id or ``[ui] theme`` the app does not have
    (before the screen is taken over, so it is one line and exit 2)."""
    from tui.keymap import check_config

    check_config(config)


def run_dashboard_app(db_path, actor=None, config=None) -> str | None:
    """Run the supervisor's dashboard on the database: the same app as a shift
    (``make_app``), opened on the dashboard (on the login screen first when ``actor`` is
    None). Returns why it closed without opening (a caller signed in), or None."""
    from tui.app import make_app

    app = make_app(db_path, actor.name if actor is not None else "", actor=actor,
                   config=config, mode="dashboard")
    app.run()
    return app.refusal
