"""Write ``polar_checkouts/country_codes.py`` from Polar's OpenAPI spec (its country enums).

Usage: python tests/data/generate_country_codes.py [spec.json]   (default: the 2026-10 spec
in this folder). ``tests/storefront/test_countries.py`` checks the shipped module is exactly
what this script writes, so the package's list cannot drift from the spec unnoticed.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPEC = HERE / "polar-openapi-2026-10.json"
TARGET = HERE.parents[1] / "polar_checkouts" / "country_codes.py"


def spec_enums(spec: dict) -> dict[str, list[str]]:
    """The ``CountryAlpha2`` and ``CountryAlpha2Input`` enums of a spec, by title."""
    schemas = spec["components"]["schemas"]
    return {
        schemas[name]["properties"]["country"]["title"]: schemas[name]["properties"]["country"][
            "enum"
        ]
        for name in ("Address", "AddressInput")
    }


def _codes(codes: list[str]) -> str:
    body = ", ".join(f'"{code}"' for code in codes)
    return textwrap.fill(body, width=92, initial_indent="    ", subsequent_indent="    ")


def render(spec_path: Path = SPEC) -> str:
    """The module's text for the spec at ``spec_path``."""
    spec = json.loads(spec_path.read_text())
    enums = spec_enums(spec)
    version = spec.get("info", {}).get("version", "?")
    return f'''"""Polar's country codes, generated from its OpenAPI spec; do not edit by hand.

Source: ``components.schemas.Address.properties.country`` (``CountryAlpha2``) and
``AddressInput.properties.country`` (``CountryAlpha2Input``) of Polar's OpenAPI spec, API
version {version}: ``tests/data/{spec_path.name}`` (tests/data/README.txt says
where it comes from). Regenerate with ``python tests/data/generate_country_codes.py``; a
test checks this file is exactly what that script writes.
"""

# fmt: off
#: ``CountryAlpha2``: every country Polar may report (an order's or a customer's address).
COUNTRY_ALPHA2: tuple[str, ...] = (
{_codes(enums["CountryAlpha2"])}
)

#: ``CountryAlpha2Input``: the countries Polar accepts in a billing address it is sent
#: (``CountryAlpha2`` less the ones Polar cannot sell to).
COUNTRY_ALPHA2_INPUT: tuple[str, ...] = (
{_codes(enums["CountryAlpha2Input"])}
)
# fmt: on
'''


if __name__ == "__main__":
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else SPEC
    TARGET.write_text(render(source))
    print(f"wrote {TARGET}")
