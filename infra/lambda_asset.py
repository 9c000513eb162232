"""What the Lambda code asset is, and how to build it without Docker.

``make lambda-asset`` runs ``python -m infra.lambda_asset``: pip installs requirements.txt for the Lambda platform
(manylinux2014 aarch64, the runtime's CPython version, wheels only, so nothing is compiled and no Docker is needed)
into ``build/lambda``, copies the ``runtime`` and ``lambdas`` packages next to them and writes a marker file last.
The stacks deploy that folder when the marker exists. Without it they fall back to the plain sources, which is
enough to synthesize and test the templates but not to run (the dependencies are missing): prod therefore refuses
to synthesize without a finished build (``requireBuiltLambdaAsset``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
LAMBDA_PYTHON_VERSION = "3.14"  # keep in step with the runtime in infra/constructs/python_lambda.py
LAMBDA_PLATFORM = "manylinux2014_aarch64"  # Lambdas run on ARM64 (Graviton)
CODE_PACKAGES = ("runtime", "lambdas")
BUILD_MARKER = ".copytrader-lambda-build.json"

# The plain-source fallback ships only the code packages: everything else at the repository root is excluded.
# ("*" does not match dot-files such as .venv and .git, hence ".*".)
SOURCE_EXCLUDES: tuple[str, ...] = (
    "*",
    ".*",
    *(f"!{package}" for package in CODE_PACKAGES),
    *(f"!{package}/**" for package in CODE_PACKAGES),
    "**/__pycache__",
    "**/*.pyc",
    "runtime/listener/Dockerfile",
)
_COPY_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "Dockerfile")


class LambdaAssetMissingError(RuntimeError):
    """The environment requires a built Lambda asset and there is none."""

    def __init__(self, build_dir: Path) -> None:
        super().__init__(
            f"no finished Lambda build in {build_dir} (marker {BUILD_MARKER} missing): run `make lambda-asset` "
            "before synthesizing this environment; it pip installs requirements.txt for "
            f"{LAMBDA_PLATFORM} / Python {LAMBDA_PYTHON_VERSION} without Docker"
        )
        self.build_dir = build_dir


@dataclass(frozen=True)
class LambdaAssetSource:
    """The folder to package and the patterns to leave out of it."""

    path: Path
    excludes: tuple[str, ...]
    built: bool


def select_asset_source(build_dir: Path, *, require_built: bool, repo_root: Path = REPO_ROOT) -> LambdaAssetSource:
    """The finished build when there is one; otherwise the plain sources (or an error where a build is required)."""
    if (build_dir / BUILD_MARKER).is_file():
        return LambdaAssetSource(build_dir, ("**/__pycache__", "**/*.pyc"), built=True)
    if require_built:
        raise LambdaAssetMissingError(build_dir)
    return LambdaAssetSource(repo_root, SOURCE_EXCLUDES, built=False)


def pip_install_command(build_dir: Path, requirements: Path, python: str = sys.executable) -> list[str]:
    """Wheels for the Lambda platform only: a package without an aarch64 wheel fails here, not at run time."""
    return [
        python,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--upgrade",
        "--target",
        str(build_dir),
        "--platform",
        LAMBDA_PLATFORM,
        "--implementation",
        "cp",
        "--python-version",
        LAMBDA_PYTHON_VERSION,
        "--only-binary=:all:",
        "-r",
        str(requirements),
    ]


def build(build_dir: Path, repo_root: Path = REPO_ROOT) -> None:
    """Rebuild ``build_dir`` from scratch; the marker is written last so a failed build is never deployed."""
    if build_dir.exists():
        shutil.rmtree(build_dir)
    build_dir.mkdir(parents=True)
    subprocess.run(pip_install_command(build_dir, repo_root / "requirements.txt"), check=True)
    for package in CODE_PACKAGES:
        shutil.copytree(repo_root / package, build_dir / package, ignore=_COPY_IGNORE)
    marker = {"python": LAMBDA_PYTHON_VERSION, "platform": LAMBDA_PLATFORM, "packages": list(CODE_PACKAGES)}
    (build_dir / BUILD_MARKER).write_text(json.dumps(marker, indent=2) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    build_dir = Path(args[0]) if args else REPO_ROOT / "build" / "lambda"
    build(build_dir.resolve())
    print(f"Lambda asset built in {build_dir} for {LAMBDA_PLATFORM} / Python {LAMBDA_PYTHON_VERSION}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
