"""The Lambda code asset: a finished Docker-free build when there is one, plain sources otherwise, never a
half-finished build, and prod refuses to go without one."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from infra import lambda_asset
from infra.lambda_asset import (
    BUILD_MARKER,
    LAMBDA_PLATFORM,
    LAMBDA_PYTHON_VERSION,
    LambdaAssetMissingError,
    pip_install_command,
    select_asset_source,
)
from tests.infrastructure.synth import Synthesized


def test_finished_build_is_used(tmp_path: Path) -> None:
    (tmp_path / BUILD_MARKER).write_text("{}")
    source = select_asset_source(tmp_path, require_built=True, repo_root=Path("/repo"))
    assert (source.path, source.built) == (tmp_path, True)


def test_build_without_marker_falls_back_to_sources(tmp_path: Path) -> None:
    (tmp_path / "runtime").mkdir()  # a build that stopped half-way: no marker
    source = select_asset_source(tmp_path, require_built=False, repo_root=Path("/repo"))
    assert (source.path, source.built) == (Path("/repo"), False)
    assert source.excludes[0] == "*" and "!runtime/**" in source.excludes and "!lambdas/**" in source.excludes


def test_required_build_that_is_missing_names_the_make_target(tmp_path: Path) -> None:
    with pytest.raises(LambdaAssetMissingError, match="run `make lambda-asset`"):
        select_asset_source(tmp_path, require_built=True)


def test_pip_installs_wheels_for_the_lambda_platform_only(tmp_path: Path) -> None:
    command = pip_install_command(tmp_path, Path("requirements.txt"), python="python3")
    assert command[:4] == ["python3", "-m", "pip", "install"]
    joined = " ".join(command)
    assert f"--platform {LAMBDA_PLATFORM}" in joined and f"--python-version {LAMBDA_PYTHON_VERSION}" in joined
    assert "--only-binary=:all:" in command and f"--target {tmp_path}" in joined


def test_source_asset_ships_only_the_code_packages(dev: Synthesized) -> None:
    function = next(iter(dev.resources("compute", "AWS::Lambda::Function").values()))
    asset_hash = function["Properties"]["Code"]["S3Key"].removesuffix(".zip")
    shipped = {path.name for path in (dev.outdir / f"asset.{asset_hash}").iterdir()}
    assert shipped == {"runtime", "lambdas"}
    assert not list((dev.outdir / f"asset.{asset_hash}").rglob("__pycache__"))


def test_prod_uses_the_built_folder(prod: Synthesized) -> None:
    function = next(iter(prod.resources("compute", "AWS::Lambda::Function").values()))
    asset_hash = function["Properties"]["Code"]["S3Key"].removesuffix(".zip")
    assert (prod.outdir / f"asset.{asset_hash}" / BUILD_MARKER).is_file()


def _fake_repo(root: Path) -> Path:
    for package in ("runtime", "lambdas"):
        (root / package / "__pycache__").mkdir(parents=True)
        (root / package / "__init__.py").write_text("")
        (root / package / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"")
    (root / "runtime" / "listener").mkdir()
    (root / "runtime" / "listener" / "Dockerfile").write_text("FROM scratch\n")
    (root / "requirements.txt").write_text("pydantic==2.14.3\n")
    return root


def test_build_installs_copies_the_code_and_writes_the_marker_last(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _fake_repo(tmp_path / "repo")
    build_dir = tmp_path / "build"
    commands: list[list[str]] = []

    def fake_pip(command: list[str], check: bool) -> None:
        assert check and not (build_dir / BUILD_MARKER).exists()
        commands.append(command)

    monkeypatch.setattr(subprocess, "run", fake_pip)
    lambda_asset.build(build_dir, repo_root=repo)
    assert commands == [pip_install_command(build_dir, repo / "requirements.txt")]
    assert (build_dir / "runtime" / "__init__.py").is_file() and (build_dir / "lambdas" / "__init__.py").is_file()
    assert not list(build_dir.rglob("__pycache__")) and not list(build_dir.rglob("Dockerfile"))
    assert (build_dir / BUILD_MARKER).is_file()


def test_a_failed_install_leaves_no_marker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = _fake_repo(tmp_path / "repo")
    build_dir = tmp_path / "build"
    (build_dir).mkdir()
    (build_dir / BUILD_MARKER).write_text("{}")  # an older, finished build

    def failing_pip(command: list[str], check: bool) -> None:
        raise subprocess.CalledProcessError(1, command)

    monkeypatch.setattr(subprocess, "run", failing_pip)
    with pytest.raises(subprocess.CalledProcessError):
        lambda_asset.build(build_dir, repo_root=repo)
    assert not (build_dir / BUILD_MARKER).exists()
    assert not select_asset_source(build_dir, require_built=False, repo_root=repo).built
