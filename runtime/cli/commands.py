"""The list of subcommand registrars. A registrar adds one subparser and sets ``handler`` on it."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from runtime.cli import config_cmd, sim_cmd

Registrar = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]

REGISTRARS: list[Registrar] = [sim_cmd.register, config_cmd.register]
