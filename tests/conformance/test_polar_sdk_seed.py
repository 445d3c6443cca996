"""polar-sdk 0.10.0 (the seed's SDK) keeps passing on the seed-era ``/custom/`` paths.

0.10.0 cannot share the test venv with 1.0.2, so it lives in a directory of its own,
``<venv>/polar-sdk-0.10`` (``scripts/bootstrap`` installs it there; this module installs it
with pip on first use when missing, and fails with the reason if it cannot), and runs in a
subprocess with that directory first on ``sys.path`` against the standalone fake.
``POLAR_SDK_SEED_PATH`` names another directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from polar_checkouts.testing import (
    PRICE_ONE_TIME_ID,
    PRODUCT_FREE_ID,
    PRODUCT_ONE_TIME_ID,
    PRODUCT_PWYW_ID,
    PRODUCT_SUBSCRIPTION_ID,
    TOKEN_SUCCEEDED,
)

pytestmark = pytest.mark.slow

SEED_SDK = "polar-sdk==0.10.0"
SCRIPT = Path(__file__).with_name("seed_sdk_script.py")


@pytest.fixture(scope="session")
def seed_sdk_path() -> Path:
    """The directory holding polar-sdk 0.10.0 and its dependencies."""
    target = Path(os.environ.get("POLAR_SDK_SEED_PATH") or Path(sys.prefix) / "polar-sdk-0.10")
    if not (target / "polar_sdk").is_dir():
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--target",
                str(target),
                SEED_SDK,
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0 or not (target / "polar_sdk").is_dir():
            pytest.fail(
                f"{SEED_SDK} is not installed in {target} and pip could not install it "
                f"(run scripts/bootstrap, or set POLAR_SDK_SEED_PATH):\n{done.stderr[-2000:]}"
            )
    return target


def test_the_seed_sdk_on_the_seed_era_paths(seed_sdk_path, fake_url):
    done = subprocess.run(
        [
            sys.executable,
            "-s",
            str(SCRIPT),
            str(seed_sdk_path),
            fake_url,
            PRODUCT_ONE_TIME_ID,
            PRODUCT_FREE_ID,
            PRICE_ONE_TIME_ID,
            TOKEN_SUCCEEDED,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    seen = json.loads(done.stdout)
    assert seen["sdk"].startswith(str(seed_sdk_path))
    assert seen["products"] == sorted(
        [PRODUCT_ONE_TIME_ID, PRODUCT_SUBSCRIPTION_ID, PRODUCT_PWYW_ID, PRODUCT_FREE_ID]
    )
    assert seen["product_get"] == PRODUCT_ONE_TIME_ID
    assert seen["paid_created"] == ["open", 1900, PRODUCT_ONE_TIME_ID]
    assert seen["client_get"] is True
    assert seen["tax_amount"] == 361
    assert seen["confirmed_token"] == "polar_cst_"
    assert seen["paid_status"] == "succeeded"
    assert seen["by_price"] == PRODUCT_ONE_TIME_ID
    assert seen["free_status"] == "confirmed"
    assert seen["list"] == [3, 2]
    assert seen["not_found"] == ["ResourceNotFound", "Not found"]
    assert seen["invalid"]
    assert seen["invalid"][0][:2] == ["body", "product_id"]
    # The seed's SDK predates API versions: it sends no Polar-Version header.
    assert seen["sent_versions"] == ["None"]
