"""cdk-nag (AwsSolutions) passes on both environments with justified acknowledgements only."""

from __future__ import annotations

import json

import pytest

from infra.constructs.nag import WeakAcknowledgementError, check_reason
from tests.infrastructure.synth import Synthesized

# Every acknowledgement is a reviewed decision: adding one must change this list (and say why in the code).
EXPECTED_ACKNOWLEDGED_RULES = {
    "AwsSolutions-ECS2",
    "AwsSolutions-IAM5[Resource::*]",
    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:"
    "copytrader/{env}/followers/*]",
    "AwsSolutions-SMG4",
    "AwsSolutions-SQS3",
}


@pytest.mark.parametrize(
    "reason",
    ["", "ok", "N/A", "false positive", "Not needed here.", "This is fine because reasons"],
)
def test_trivial_reasons_are_refused(reason: str) -> None:
    with pytest.raises(WeakAcknowledgementError, match="needs a real reason"):
        check_reason("AwsSolutions-IAM5[Resource::*]", reason)


def test_a_malformed_rule_id_is_refused() -> None:
    with pytest.raises(WeakAcknowledgementError, match="not an AwsSolutions rule id"):
        check_reason("IAM5", "A perfectly reasonable explanation that is long enough to pass the check.")


def test_a_real_reason_is_accepted() -> None:
    check_reason(
        "AwsSolutions-SMG4", "Exchange API keys can only be rotated at the exchange, so no rotation Lambda applies."
    )


@pytest.mark.parametrize("env_fixture", ["dev", "prod"])
def test_nag_passes_and_reports_no_violation(env_fixture: str, request: pytest.FixtureRequest) -> None:
    synth: Synthesized = request.getfixturevalue(env_fixture)  # synthesis itself raises on any finding
    report = json.loads((synth.outdir / "validation-report.json").read_text())
    assert all(not plugin.get("violations") for plugin in report.get("pluginReports", []))
    assert "AwsSolutions" in json.dumps(synth.template("compute"))  # the pack ran: acknowledgements recorded


@pytest.mark.parametrize("env_fixture", ["dev", "prod"])
def test_every_acknowledgement_is_expected_and_justified(env_fixture: str, request: pytest.FixtureRequest) -> None:
    synth: Synthesized = request.getfixturevalue(env_fixture)
    acknowledged: dict[str, str] = {}
    for template in synth.templates.values():
        for resource in template["Resources"].values():
            for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", []):
                if rule["id"].startswith("AwsSolutions"):
                    acknowledged[rule["id"]] = rule["reason"]
                else:  # CDK's own acknowledgements of its CloudFormation validations carry reasons too
                    assert len(rule["reason"].split()) >= 7, rule
    expected = {rule.replace("{env}", synth.config.name) for rule in EXPECTED_ACKNOWLEDGED_RULES}
    assert set(acknowledged) == expected
    for rule_id, reason in acknowledged.items():
        check_reason(rule_id, reason)
