"""The executor Lambda (see handler.py)."""
