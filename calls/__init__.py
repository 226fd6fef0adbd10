"""carecall core: the store, the care policy, the queue, survey scripts, follow-ups, reports.

Nothing in this package imports Textual or ``tui`` (``calls/cli.py`` starts the app
from inside the command that launches it).
"""

__version__ = "0.1.0"
