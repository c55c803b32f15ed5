"""Expand template.yaml with aws-sam-translator (what CloudFormation's transform does), lint it with cfn-lint."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cfnlint.decode import decode_str
from samtranslator.translator.transform import transform

TEMPLATE = Path(__file__).parents[1] / "template.yaml"
REGION = "eu-west-1"
PARAMETERS = {
    "Repositories": "acme/api,acme/web",
    "GitHubTokenSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:github-AbCdEf",
    "DatabaseSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds-db-GhIjKl",
}


class _NoManagedPolicies:
    """The template names no managed policy by name, so no IAM lookup is needed."""

    def load(self) -> dict[str, str]:
        return {}


def source() -> dict[str, Any]:
    template, matches = decode_str(TEMPLATE.read_text())
    assert not matches, matches
    return template


def translate(parameters: dict[str, str] | None = None) -> dict[str, Any]:
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    # The translator mutates its input; give it a fresh copy each time.
    template = json.loads(json.dumps(source()))
    # As `sam package` does: the built code is uploaded and CodeUri becomes an S3 location.
    template["Globals"]["Function"]["CodeUri"] = "s3://artifacts-bucket/dora-collector.zip"
    return transform(template, {**PARAMETERS, **(parameters or {})}, _NoManagedPolicies())


def lint(template: dict[str, Any]) -> list[str]:
    from cfnlint.api import ManualArgs
    from cfnlint.api import lint as cfn_lint

    matches = cfn_lint(json.dumps(template), config=ManualArgs(regions=[REGION]))
    return [f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})" for m in matches]
