"""Widgets of the shift app."""
