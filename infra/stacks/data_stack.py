"""DynamoDB tables: claims, master state (snapshots and lifecycles), copy ratios, alert state, the order log and
the followers' configuration. Key schemas come from infra/contract.py.

Every table: on-demand billing (traffic follows the master's trading, which is bursty and mostly idle), encryption at
rest with the AWS-managed KMS key (no key to pay for or grant), point-in-time recovery (35 days of restore points).
Ledger tables are always retained when the stack goes away; the alert state is disposable in dev.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from infra import contract
from infra.config import EnvironmentConfig
from infra.contract import Key, TableSpec
from infra.stacks.base import CopyTraderStack

_ATTRIBUTE_TYPES = {
    contract.KeyType.STRING: dynamodb.AttributeType.STRING,
    contract.KeyType.NUMBER: dynamodb.AttributeType.NUMBER,
}


def _attribute(key: Key) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=key.name, type=_ATTRIBUTE_TYPES[key.type])


class DataStack(CopyTraderStack):
    """``tables`` maps each contract TableSpec's logical id to its table."""

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig) -> None:
        super().__init__(scope, construct_id, config=config, description="DynamoDB tables (state and ledgers)")
        self.tables: dict[str, dynamodb.Table] = {
            spec.logical_id: self._table(spec, config) for spec in contract.TABLES
        }

    def table(self, spec: TableSpec) -> dynamodb.Table:
        return self.tables[spec.logical_id]

    def _table(self, spec: TableSpec, config: EnvironmentConfig) -> dynamodb.Table:
        retain = spec.ledger or config.retain_state
        table = dynamodb.Table(
            self,
            spec.logical_id,
            table_name=spec.table_name(config.name),
            partition_key=_attribute(spec.partition_key),
            sort_key=_attribute(spec.sort_key) if spec.sort_key else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=spec.ttl_attribute,
            deletion_protection=config.deletion_protection,
            removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
        )
        for index in spec.indexes:
            table.add_global_secondary_index(
                index_name=index.name,
                partition_key=_attribute(index.partition_key),
                sort_key=_attribute(index.sort_key) if index.sort_key else None,
                projection_type=dynamodb.ProjectionType.ALL,
            )
        return table
