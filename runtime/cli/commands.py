"""The list of subcommand registrars. A registrar adds one subparser and sets ``handler`` on it."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from runtime.cli import audit_cmd, aws_followers_cmd, config_cmd, demo_cmd, follower_cmd, run_cmd, sim_cmd

Registrar = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]

REGISTRARS: list[Registrar] = [
    sim_cmd.register,  # the exchange simulators
    config_cmd.register,  # configuration check
    run_cmd.register,  # the engine against configured venues
    demo_cmd.register,  # the demo with scenario replay
    audit_cmd.register,  # one-shot reconciliation report
    follower_cmd.register,  # the kill switch: pause, resume, close-all
    aws_followers_cmd.register,  # follower registry in DynamoDB (AWS host)
]
