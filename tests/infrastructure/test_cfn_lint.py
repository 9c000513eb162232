"""cfn-lint finds nothing in the synthesized templates but CDK's harmless W3005 (a DependsOn that a reference
already implies)."""

from __future__ import annotations

import pytest
from cfnlint.api import lint

from tests.infrastructure.synth import Synthesized

TOLERATED = {"W3005"}
REGIONS = ["us-east-1", "eu-west-1", "ap-northeast-1"]  # where a trading stack near the venues is likely to run


@pytest.mark.parametrize("env_fixture", ["dev", "prod"])
def test_templates_are_cfn_lint_clean(env_fixture: str, request: pytest.FixtureRequest) -> None:
    synth: Synthesized = request.getfixturevalue(env_fixture)
    findings = []
    for name in synth.templates:
        template = (synth.outdir / f"{name}.template.json").read_text()
        matches = lint(template, regions=REGIONS)
        findings += [f"{name}: {m.rule.id} {m.message}" for m in matches if m.rule.id not in TOLERATED]
    assert findings == []
