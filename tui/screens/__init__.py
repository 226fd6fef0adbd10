"""Screens of the shift app."""
