"""The notifier Lambda (see handler.py)."""
