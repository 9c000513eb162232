"""Least-privilege DynamoDB grants: named access levels with explicit action lists, on the exact table and index
ARNs (never ``dynamodb:*``, never a table wildcard). CDK's ``grant_read_write_data`` would add actions these
functions never call and an ``index/*`` wildcard.
"""

from __future__ import annotations

from enum import StrEnum

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam

from infra.contract import TableSpec


class TableAccess(StrEnum):
    READ = "read"
    APPEND = "append"  # add items only: the order log is written once per outcome and never changed
    READ_WRITE = "read_write"


_READ = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:ConditionCheckItem")
_WRITE = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem")

INDEX_ACTIONS = ("dynamodb:Query", "dynamodb:Scan")

TABLE_ACTIONS: dict[TableAccess, tuple[str, ...]] = {
    TableAccess.READ: _READ,
    TableAccess.APPEND: ("dynamodb:PutItem",),
    TableAccess.READ_WRITE: _READ + _WRITE,
}


def grant_table(grantee: iam.IGrantable, table: dynamodb.ITable, spec: TableSpec, access: TableAccess) -> None:
    """The access level's actions on the table; Query and Scan on each of its indexes when the access reads
    (an index is never written directly, and GetItem does not apply to one)."""
    iam.Grant.add_to_principal(grantee=grantee, actions=list(TABLE_ACTIONS[access]), resource_arns=[table.table_arn])
    if access is not TableAccess.APPEND and spec.indexes:
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=list(INDEX_ACTIONS),
            resource_arns=[f"{table.table_arn}/index/{index.name}" for index in spec.indexes],
        )
