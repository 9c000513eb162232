"""cdk-nag wiring (cdk-nag 3 API) and the one way this repository acknowledges a finding: with a real reason.

cdk-nag 3 runs as a CDK validation plugin: any unacknowledged AwsSolutions finding makes ``app.synth()`` raise, and
the report lands in the cloud assembly. Acknowledgements are also written into the template metadata
(``cdk_nag.rules_to_suppress``) so the tests and a reviewer can audit every one of them.
"""

from __future__ import annotations

import re

from aws_cdk import Acknowledgment, App, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

MIN_REASON_CHARS = 40
MIN_REASON_WORDS = 7
_PLACEHOLDER = re.compile(r"^\s*(n/?a|none|todo|tbd|ok|fine|ignore|suppress(ed)?|false positive|not needed)\W*$", re.I)
_RULE_ID = re.compile(r"^AwsSolutions-[A-Z]+[0-9]+[a-z]?(\[.+\])?$")


class WeakAcknowledgementError(ValueError):
    """An acknowledgement without a usable reason: say why the finding does not apply or what compensates."""


def enable_nag(app: App) -> None:
    """Run the AwsSolutions pack on every synth of ``app``."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app, write_suppressions_to_cloud_formation=True))


def check_reason(rule_id: str, reason: str) -> None:
    """Raise unless ``reason`` explains itself: a sentence of some length, not a placeholder."""
    if not _RULE_ID.match(rule_id):
        raise WeakAcknowledgementError(
            f"{rule_id!r} is not an AwsSolutions rule id (e.g. AwsSolutions-IAM5[Resource::*]); copy it from the "
            "nag report"
        )
    text = reason.strip()
    if _PLACEHOLDER.match(text) or len(text) < MIN_REASON_CHARS or len(text.split()) < MIN_REASON_WORDS:
        raise WeakAcknowledgementError(
            f"acknowledging {rule_id} needs a real reason (at least {MIN_REASON_WORDS} words and "
            f"{MIN_REASON_CHARS} characters saying why it does not apply or what compensates), got {reason!r}"
        )


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge one finding on ``scope`` and everything below it. IAM findings carry their suffix, e.g.
    ``AwsSolutions-IAM5[Resource::*]``; each one is acknowledged on its own."""
    check_reason(rule_id, reason)
    Validations.of(scope).acknowledge(Acknowledgment(id=rule_id, reason=reason.strip()))
