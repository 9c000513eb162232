"""The dispatcher Lambda (see handler.py)."""
