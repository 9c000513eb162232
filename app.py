#!/usr/bin/env python3
"""CDK entry point of the AWS host (docs/deploy.md).

    npx aws-cdk@2 deploy --all -c env=prod     # through the CDK CLI (cdk.json runs this file)
    CDK_OUTDIR=cdk.out python app.py           # synthesize without the CLI (what `make synth` does)

Without the CLI, pick the environment with CDK_CONTEXT_JSON='{"env": "prod"}'.
"""

from __future__ import annotations

import aws_cdk as cdk

from infra.app_builder import build_app, read_cdk_json_context
from infra.config import load_config


def main() -> None:
    app = cdk.App(context=read_cdk_json_context())
    build_app(app, load_config(app.node.try_get_context))
    app.synth()


if __name__ == "__main__":
    main()
