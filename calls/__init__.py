"""carecall core: the store, the care policy, the queue, survey scripts, follow-ups, reports.

Nothing in this package imports Textual or ``tui``, not even inside a function: the
commands that open the app are the command area ``tui/launch_cmd.py``, which
``calls/cli.py`` loads by the name the catalogue gives it.
"""

__version__ = "0.1.0"
