"""Choosing the demo's host: the local engine by default, the AWS wiring on request, a clear error otherwise."""

from __future__ import annotations

import importlib.util

import pytest

from runtime.bootstrap import build_engine
from runtime.cli.main import main
from runtime.demo.hosts import HOST_NAMES, HostUnavailableError, UnknownHostError, engine_factory
from runtime.hosts.aws_local.demo_engine import AwsLocalEngineFactory


def test_each_host_name_has_its_engine_factory() -> None:
    assert HOST_NAMES == ("local", "aws-local")
    assert engine_factory("local") is build_engine
    assert isinstance(engine_factory("aws-local"), AwsLocalEngineFactory)
    with pytest.raises(UnknownHostError, match="use one of local, aws-local"):
        engine_factory("aws")


def test_the_aws_host_without_its_packages_is_refused_with_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "moto" else real(name, *a))
    with pytest.raises(HostUnavailableError, match=r"requirements-dev\.txt"):
        engine_factory("aws-local")
    assert main(["demo", "--host", "aws-local", "--no-live"]) == 2
    assert "needs the 'moto' package" in capsys.readouterr().err
