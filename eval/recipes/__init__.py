"""Offline jobs whose outputs ship: the adaptation adapter (adapt.py)."""
