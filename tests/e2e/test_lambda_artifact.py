"""The `sam build` output is a correct ARM64 Lambda artifact. `.ci/run` builds it, then runs this with
DORA_LAMBDA_BUILD_DIR=.aws-sam/build; without a build there is nothing to check."""

import io
import os
import struct
import zipfile
from pathlib import Path

import pytest

BUILD = os.environ.get("DORA_LAMBDA_BUILD_DIR")
pytestmark = pytest.mark.skipif(not BUILD, reason="set DORA_LAMBDA_BUILD_DIR after `sam build`")
FUNCTIONS = ("CollectorFunction", "MigrateFunction", "ApiFunction", "WebhookFunction", "WebhookCollectorFunction")
EM_AARCH64 = 183
ZIPPED_LIMIT = 50 * 2**20  # direct upload limit
UNZIPPED_LIMIT = 250 * 2**20


def artifact(name):
    return Path(BUILD or "") / name


def elf_machine(path):
    head = path.read_bytes()[:20]
    assert head[:4] == b"\x7fELF", f"{path} is not an ELF file"
    assert head[4] == 2, f"{path} is not 64-bit"
    return struct.unpack("<H", head[18:20])[0]


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_compiled_extension_is_aarch64(function):
    shared = [p for p in artifact(function).rglob("*") if p.is_file() and (p.suffix == ".so" or ".so." in p.name)]
    assert any("psycopg_binary" in str(p) for p in shared)  # the C driver is really there
    assert {p.name: elf_machine(p) for p in shared} == {p.name: EM_AARCH64 for p in shared}


@pytest.mark.parametrize("function", FUNCTIONS)
def test_artifact_holds_the_package_migrations_and_views_only(function):
    root = artifact(function)
    assert (root / "collector" / "handler.py").is_file() and (root / "collector" / "deploy.py").is_file()
    assert (root / "collector" / "api" / "lambda_handler.py").is_file()
    assert (root / "collector" / "migrations" / "versions" / "0001_initial.py").is_file()
    assert sorted(p.name for p in (root / "collector" / "sql").glob("*.sql"))
    assert not (root / "collector" / "testing").exists() and not (root / "tests").exists()
    assert not (root / "boto3").exists()  # the runtime provides it
    assert not list(root.rglob("__pycache__"))


@pytest.mark.parametrize("function", FUNCTIONS)
def test_artifact_size_stays_well_under_lambdas_limits(function):
    root = artifact(function)
    files = [p for p in root.rglob("*") if p.is_file()]
    unzipped = sum(p.stat().st_size for p in files)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(root))
    zipped = buffer.tell()
    print(f"{function}: {unzipped / 2**20:.1f} MiB unzipped, {zipped / 2**20:.1f} MiB zipped")
    assert unzipped < UNZIPPED_LIMIT / 2 and zipped < ZIPPED_LIMIT / 2
