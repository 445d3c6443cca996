"""The deprecation policy (docs/project/versioning.md) holds for what is deprecated today.

Each row of the page's "Deprecated now" table must warn as the policy says (a
``DeprecationWarning`` naming the replacement and the removal release), be removed two
minor releases after it was deprecated, be gone once the package reaches that release,
and be announced in CHANGELOG.md. The old import paths the page calls aliases must stay the
same objects and must not warn.
"""

from __future__ import annotations

import importlib
import re
import warnings
from pathlib import Path

import pytest
from packaging.version import Version

import polar_checkouts

ROOT = Path(__file__).resolve().parents[2]
POLICY = (ROOT / "docs" / "project" / "versioning.md").read_text(encoding="utf-8")
CHANGELOG = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")


def deprecated_now() -> list[tuple[str, str, str, str]]:
    table = POLICY.split("### Deprecated now", 1)[1].split("\n\n", 2)[1]
    rows = []
    for line in table.splitlines()[2:]:
        cells = [cell.strip().strip("`") for cell in line.strip("|").split("|")]
        rows.append((cells[0], cells[1], cells[2], cells[3]))
    return rows


def resolve(dotted: str) -> object:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_the_table_is_read():
    assert "polar_checkouts.types.CheckoutStatus" in [row[0] for row in deprecated_now()]


@pytest.mark.parametrize(("old", "new", "since", "removed_in"), deprecated_now())
def test_each_deprecation_warns_and_goes_when_the_policy_says(old, new, since, removed_in):
    with pytest.warns(DeprecationWarning, match=re.escape(new)) as caught:
        value = resolve(old)
    assert removed_in in str(caught[0].message)
    # The warning points at the code that used the old name, not at the package.
    assert caught[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert value is resolve(new)
    # Two minor releases of grace (from 1.0 on, the next major release at the earliest).
    deprecated, removed = Version(since), Version(removed_in)
    if deprecated.major == 0:
        assert (removed.major, removed.minor) == (0, deprecated.minor + 2)
    else:
        assert removed.major > deprecated.major
    # Past its removal release the old name must be gone (and this row with it).
    assert Version(polar_checkouts.__version__) < removed, f"remove {old}"
    deprecated_section = CHANGELOG.split("### Deprecated", 1)[1].split("\n## ", 1)[0]
    assert f"`{old}`" in deprecated_section


#: The old import paths kept as aliases (not deprecated): old path -> the object's home.
ALIASES = {
    **{
        f"polar_checkouts.views.{name}": f"polar_checkouts.storefront.views.{name}"
        for name in ("checkout", "client", "client_confirm", "create", "status", "success")
    },
    **{
        f"polar_checkouts.forms.{name}": f"polar_checkouts.storefront.forms.{name}"
        for name in ("MAX_AMOUNT", "CheckoutButtonForm", "find_price")
    },
    **{
        f"polar_checkouts.client.{name}": f"polar_checkouts.transport.{name}"
        for name in (
            "PolarRetry",
            "default_transport",
            "set_default_transport",
            "TransportFactory",
            "http_transport",
        )
    },
    **{
        f"polar_checkouts.models.{name}": f"polar_checkouts.payload.{name}"
        for name in ("incoming_wins", "merge_payload", "parse_polar_datetime")
    },
    "polar_checkouts.models.format_amount": "polar_checkouts.money.format_amount",
    "polar_checkouts.models.InvalidPayloadError": "polar_checkouts.exceptions.InvalidPayloadError",
    "polar_checkouts.payload.InvalidPayloadError": "polar_checkouts.exceptions.InvalidPayloadError",
    "polar_checkouts.signals.ReceiverError": "polar_checkouts.exceptions.ReceiverError",
    "polar_checkouts.webhooks.WebhookRejected": "polar_checkouts.exceptions.WebhookRejected",
    "polar_checkouts.webhooks.webhook_view": "polar_checkouts.webhooks.views.webhook_view",
}


@pytest.mark.parametrize(("old", "home"), sorted(ALIASES.items()))
def test_the_aliases_name_the_same_objects_without_a_warning(old, home):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert resolve(old) is resolve(home)
    # The policy page names the module as an alias.
    assert f"`{old.rpartition('.')[0]}`" in POLICY
