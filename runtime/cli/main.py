"""The ``copytrader`` command line. Each subcommand lives in its own module with a ``register`` function."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="copytrader",
        description="Copy a Bybit master account into Bybit, Binance USD-M and Hyperliquid followers.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    # Imported here, not at module top, so `copytrader --help` stays fast and import has no side effects.
    from runtime.cli import commands

    for register in commands.REGISTRARS:
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    result: int = args.handler(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
