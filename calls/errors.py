"""Errors a user can cause. The CLI prints them as one line and exits with code 2."""


class UserError(Exception):
    """Something the user can fix: a missing file, a bad column, an invalid script."""
