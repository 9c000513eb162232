"""Synthesize each environment once per test session (cdk-nag on): dev as `make synth` does it (no account or
region), prod as a deploy does it (concrete account and region, a finished Lambda build)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator

# jsii prints an end-of-life banner for Node 20 on every call unless told the version is known; it must be set
# before aws_cdk is first imported.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from pathlib import Path

import pytest

from infra.lambda_asset import BUILD_MARKER
from tests.infrastructure.synth import Synthesized, synthesize

# The AWS documentation's example account: a real deploy reads the account from the CLI's credentials.
EXAMPLE_ENVIRON = {"CDK_DEFAULT_ACCOUNT": "123456789012", "CDK_DEFAULT_REGION": "eu-west-1"}


# Own temporary folders rather than tmp_path_factory: pytest prunes old numbered base folders, which another
# pytest process on the same machine could do while this session still reads its cloud assembly.
@pytest.fixture(scope="session")
def dev() -> Iterator[Synthesized]:
    with tempfile.TemporaryDirectory(prefix="cdk-dev-") as outdir:
        # Point at a build folder that does not exist, so a local `make lambda-asset` does not change the test.
        no_build = str(Path(outdir) / "no-lambda-build")
        yield synthesize(Path(outdir), "dev", overrides={"lambdaBuildDir": no_build})


@pytest.fixture(scope="session")
def prod() -> Iterator[Synthesized]:
    with tempfile.TemporaryDirectory(prefix="cdk-prod-") as outdir, tempfile.TemporaryDirectory() as build:
        build_dir = Path(build)
        (build_dir / "lambdas").mkdir()
        (build_dir / "lambdas" / "__init__.py").write_text("")
        (build_dir / BUILD_MARKER).write_text(json.dumps({"python": "3.14"}))
        yield synthesize(Path(outdir), "prod", overrides={"lambdaBuildDir": build}, environ=EXAMPLE_ENVIRON)
