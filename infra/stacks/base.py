"""What every stack of an environment shares: account/region from the config, a description, termination
protection where the config asks for deletion protection (prod), and availability zones that need no lookup."""

from __future__ import annotations

from aws_cdk import Environment, Fn, Stack
from constructs import Construct

from infra.config import EnvironmentConfig

AVAILABILITY_ZONES = 2


class CopyTraderStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, description: str) -> None:
        super().__init__(
            scope,
            construct_id,
            env=Environment(account=config.account, region=config.region),
            description=f"copytrader ({config.name}): {description}",
            termination_protection=config.deletion_protection,
        )
        self.config = config

    @property
    def availability_zones(self) -> list[str]:
        """The region's first two zones, resolved by CloudFormation (Fn::GetAZs) at deploy time. With a concrete
        account and region CDK would otherwise look them up at synth time (credentials needed, and the answer
        cached in cdk.context.json with the account id in it) or fall back to placeholder zones."""
        return [Fn.select(index, Fn.get_azs()) for index in range(AVAILABILITY_ZONES)]
