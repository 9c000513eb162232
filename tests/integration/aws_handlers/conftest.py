from __future__ import annotations

from collections.abc import Iterator

import pytest

from runtime.hosts.aws import reset_services
from tests.integration.aws.local_aws import LocalAws, local_aws
from tests.integration.aws_handlers.world import MARK, SYMBOL, HandlerWorld, Simulators


@pytest.fixture(scope="package")
def moto() -> Iterator[LocalAws]:
    with local_aws() as aws, pytest.MonkeyPatch.context() as patch:
        # The services build their boto3 clients like a Lambda does: from the environment.
        patch.setenv("AWS_ENDPOINT_URL", aws.endpoint_url)
        patch.setenv("POWERTOOLS_TRACE_DISABLED", "1")
        patch.setenv("POWERTOOLS_SERVICE_NAME", "copytrader-test")
        yield aws


@pytest.fixture(scope="package")
def simulators() -> Iterator[Simulators]:
    sims = Simulators()
    sims.start()
    sims.set_mark(SYMBOL, MARK)
    try:
        yield sims
    finally:
        sims.stop()


@pytest.fixture
def world(moto: LocalAws, simulators: Simulators) -> Iterator[HandlerWorld]:
    try:
        yield HandlerWorld(moto, simulators)
    finally:
        reset_services()
