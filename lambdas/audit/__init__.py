"""The audit Lambda (see handler.py)."""
