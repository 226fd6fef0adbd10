"""The notices (Textual's toasts) on screens kept for a whole shift."""

from __future__ import annotations


def drop_empty_notice_holders(screen) -> int:
    """Remove the empty holders Textual leaves in ``screen``'s notice rack; how many.

    A notice taken off before its time (replaced by the next one, or gone while its screen
    was covered) loses its widget but not the holder around it. On a screen rebuilt each
    time that did not matter; on the screens kept for a whole shift (queue, call, wrap-up)
    one holder piled up per call, each re-laid out with the rack: 0.2 MB more per call
    (65 MB after 100 calls against 43 MB after one, ``scripts/bench_tui.py``'s seat)."""
    empty = [holder for holder in screen.query("ToastHolder") if not holder.children]
    for holder in empty:
        holder.remove()
    return len(empty)
