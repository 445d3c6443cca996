"""Schemathesis against the standalone fake, with each of Polar's specs the fake serves.

For each spec (the seed era's ``/v1/checkouts/custom/`` paths without a ``Polar-Version``
header; 2026-04 and 2026-10 on ``/v1/checkouts/`` with the header), every operation the fake
serves gets Schemathesis-generated requests, positive (valid per the spec) and negative
(violating it), then a stateful run that follows links (create → get, update and the
client routes; list → get). Every answer must pass Schemathesis's own checks: no server
error, a status code and content type the spec declares, a body valid against the spec,
and negative data rejected. A finding that is a gap in Polar's spec rather than a defect
of the fake is listed, with its reason, in ``tests/data/conformance-known-gaps.json``;
anything not listed fails the test.

The normal suite runs a short, reproducible pass (a fixed seed, a few tens of examples per
operation and mode). The long run, for a release or after changing the fake::

    POLAR_CONFORMANCE_LONG=1 .venv/bin/python -m pytest tests/conformance -p no:cacheprovider

takes ``POLAR_CONFORMANCE_EXAMPLES`` examples per operation and mode (default 1000) and a
random seed (printed on failure; ``POLAR_CONFORMANCE_SEED=<n>`` replays it).
"""

from __future__ import annotations

import copy
import os
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.newer_python import import_from_311

schemathesis = import_from_311("schemathesis", package="schemathesis")

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.stateful import run_state_machine_as_test  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.core.failures import Failure, FailureGroup  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from polar_checkouts.testing import catalogue  # noqa: E402
from tests.conformance.conftest import (  # noqa: E402
    KNOWN_GAPS,
    SEED_ERA_SPEC,
    SPEC_2026_04,
    SPEC_2026_10,
    TOKEN,
    load_json,
    standalone_fake,
)

LONG = os.environ.get("POLAR_CONFORMANCE_LONG") == "1"
EXAMPLES = int(os.environ.get("POLAR_CONFORMANCE_EXAMPLES", "1000")) if LONG else 25
STATEFUL_EXAMPLES = EXAMPLES if LONG else 15
SEED = int(os.environ.get("POLAR_CONFORMANCE_SEED") or (random.getrandbits(32) if LONG else 12))

#: spec name → (file, the Polar-Version header to send, or None for the seed era).
SPECS: dict[str, tuple[Path, str | None]] = {
    "seed-era": (SEED_ERA_SPEC, None),
    "2026-04": (SPEC_2026_04, "2026-04"),
    "2026-10": (SPEC_2026_10, "2026-10"),
}

#: Polar's catalogue management (create and update products) is not what a shop's checkout
#: calls, and the fake does not serve it (405): those two operations are left out.
NOT_SERVED = {("POST", "/v1/products/"), ("PATCH", "/v1/products/{id}")}


def polar_version_answered(ctx: Any, response: Any, case: Any) -> bool | None:
    """A successful answer on a dated path names the version it was served in (Polar does)."""
    sent = response.request.headers.get("Polar-Version")
    if sent and response.status_code < 300:
        answered = response.headers.get("polar-version")
        answered = answered[0] if isinstance(answered, list) else answered
        if answered != sent:
            raise AssertionError(f"Polar-Version answered {answered!r}, asked for {sent!r}")
    return None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    polar_version_answered,
]

#: Catalogue ids the create bodies' product and price fields are narrowed to (positive data
#: only: negative data still gets anything), so creates succeed and links have something
#: to follow. Random UUIDs would all be "product not found".
PRODUCT_IDS = [p["id"] for p in catalogue.SEED_PRODUCTS]
PRICE_IDS = [p["price_id"] for p in catalogue.SEED_PRODUCTS]

# Polar's own string formats (pydantic's), unknown to JSON Schema.
schemathesis.openapi.format("uuid4", st.uuids(version=4).map(str))
schemathesis.openapi.format("ipvanyaddress", st.ip_addresses().map(str))


def operations(spec: str) -> list[tuple[str, str]]:
    """(METHOD, path) of every operation of ``spec`` that the fake serves."""
    raw = load_json(SPECS[spec][0])
    found = [
        (method.upper(), path)
        for path, item in raw["paths"].items()
        for method in item
        if method in ("get", "post", "patch", "put", "delete")
    ]
    return [op for op in found if op not in NOT_SERVED]


def prepared_spec(spec: str) -> dict[str, Any]:
    """The spec as the tests use it: operations the fake serves, the known-gaps file's
    spec patches, links, real ids in creates."""
    raw = copy.deepcopy(load_json(SPECS[spec][0]))
    for method, path in NOT_SERVED:
        raw["paths"].get(path, {}).pop(method.lower(), None)
    for patch in load_json(KNOWN_GAPS)["spec_patches"]:
        if spec in patch["specs"]:
            for name in patch["schemas"]:
                raw["components"]["schemas"][name]["properties"].update(patch["add_properties"])
    add_links(raw)
    narrow_ids(raw)
    return raw


def add_links(raw: dict[str, Any]) -> None:
    """OpenAPI links the trimmed specs lack (added here, never to the data files)."""
    by_id = {
        op["operationId"]: (path, method)
        for path, item in raw["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "operationId" in op
    }

    def op_id(suffix: str) -> str | None:
        return next((i for i in by_id if i.endswith(suffix)), None)

    def link(source: str, status: str, targets: dict[str, dict[str, str]]) -> None:
        found = op_id(source)
        if found is None:
            return
        path, method = by_id[found]
        response = raw["paths"][path][method]["responses"][status]
        links = response.setdefault("links", {})
        for target, parameters in targets.items():
            target_id = op_id(target)
            if target_id is not None:
                links[target.strip(":").replace(":", "_")] = {
                    "operationId": target_id,
                    "parameters": parameters,
                }

    by_id_param = {"id": "$response.body#/id"}
    by_secret = {"client_secret": "$response.body#/client_secret"}
    checkout = {
        ":get": by_id_param,
        ":update": by_id_param,
        ":client_get": by_secret,
        ":client_update": by_secret,
        ":client_confirm": by_secret,
    }
    link(":create", "201", checkout)
    link(":update", "200", checkout)
    link(":list", "200", {":get": {"id": "$response.body#/items/0/id"}})
    link("products:list", "200", {"products:get": {"id": "$response.body#/items/0/id"}})


def narrow_ids(raw: dict[str, Any]) -> None:
    """Make the create bodies' product/price id fields pick from the fake's catalogue."""
    products = {"type": "string", "enum": PRODUCT_IDS}
    prices = {"type": "string", "enum": PRICE_IDS}
    for name, schema in raw["components"]["schemas"].items():
        if not (name.startswith("Checkout") and "Create" in name):
            continue
        properties = schema.get("properties", {})
        for key, narrowed in (("product_id", products), ("product_price_id", prices)):
            if key in properties:
                properties[key] = _narrow(properties[key], narrowed)
        if "products" in properties and properties["products"].get("type") == "array":
            properties["products"]["items"] = products
        # Ad-hoc prices (2026): a map keyed by the checkout's product ids, or null.
        for branch in properties.get("prices", {}).get("anyOf", []):
            if branch.get("type") == "object":
                branch["propertyNames"] = products


def _narrow(prop: dict[str, Any], narrowed: dict[str, Any]) -> dict[str, Any]:
    if "anyOf" in prop:
        branches = [narrowed if b.get("type") == "string" else b for b in prop["anyOf"]]
        return {**prop, "anyOf": branches}
    return {**{k: v for k, v in prop.items() if k not in ("format", "type")}, **narrowed}


#: "Invalid component: parameters `a`, `b` in query" in a negative-data finding.
PARAMETERS = re.compile(
    r"Invalid component: parameters? (?P<names>(?:`[^`]+`(?:, )?)+) in (?P<place>\w+)"
)
NAME = re.compile(r"`([^`]+)`")


@dataclass
class Findings:
    """What Schemathesis found, split into known spec gaps and everything else."""

    spec: str
    gaps: list[dict[str, Any]]
    unexpected: dict[tuple[str, ...], str] = field(default_factory=dict)
    seen_gaps: set[int] = field(default_factory=set)
    seen_defects: set[int] = field(default_factory=set)

    def record(self, failure: Failure, status: int | None, curl: str) -> None:
        """File one failed check: a listed gap, or an unexpected finding."""
        kind = type(failure).__name__
        operation = failure.operation or "?"
        text = f"{failure.title}: {failure.message}"
        # Schemathesis names every invalid parameter of a request in one line
        # ("parameters `metadata`, `visibility` in query"): such a finding is excused when
        # each parameter alone is ("parameter `metadata` in query").
        named = PARAMETERS.search(text)
        texts = (
            [f"parameter `{name}` in {named['place']}" for name in NAME.findall(named["names"])]
            if named
            else [text]
        )
        matches = [self._excuse(operation, kind, status, one) for one in texts]
        if all(match is not None for match in matches):
            for seen, index in matches:  # type: ignore[misc]
                seen.add(index)
            return
        key = (operation, kind, str(status))
        self.unexpected.setdefault(key, f"{text}\n    {curl}")

    def _excuse(
        self, operation: str, kind: str, status: int | None, text: str
    ) -> tuple[set[int], int] | None:
        """The (seen set, index) of the gap or known defect that excuses ``text``, if any."""
        for entries, seen in ((self.gaps, self.seen_gaps), (FAKE_DEFECTS, self.seen_defects)):
            for index, entry in enumerate(entries):
                if (
                    self.spec in entry["specs"]
                    and operation in entry["operations"]
                    and entry["failure"] == kind
                    and entry.get("status") in (None, status)
                    and all(fragment in text for fragment in entry.get("match", []))
                ):
                    return seen, index
        return None

    def report(self) -> str:
        """The unexpected findings, one paragraph each."""
        return "\n\n".join(
            f"[{self.spec}] {op} → {status}: {kind}\n{detail}"
            for (op, kind, status), detail in sorted(self.unexpected.items())
        )


def known_gaps() -> list[dict[str, Any]]:
    """The entries of tests/data/conformance-known-gaps.json."""
    entries = load_json(KNOWN_GAPS)["gaps"]
    for entry in entries:
        assert entry.get("reason"), f"a known gap needs its reason: {entry}"
    return list(entries)


def call_and_check(
    case: Any, base_url: str, session: requests.Session, headers: dict[str, str], found: Findings
) -> Any:
    """Send ``case``, run the checks, file what fails; the answer (or None if none came)."""
    try:
        response = case.call(base_url=base_url, session=session, headers=headers, timeout=10)
    except requests.RequestException as exc:
        # A broken connection (a desynced keep-alive, a crash) is a finding too.
        found.unexpected.setdefault((case.operation.label, type(exc).__name__, "-"), str(exc))
        return None
    try:
        case.validate_response(response, checks=CHECKS, headers=headers)
    except FailureGroup as group:
        curl = case.as_curl_command(headers=headers)
        for failure in group.exceptions:
            found.record(failure, response.status_code, curl)
    return response


def hypothesis_settings(max_examples: int, **extra: Any) -> settings:
    """Fixed seed in the normal suite; no example database; no deadline on a busy CI."""
    return settings(
        max_examples=max_examples,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
        **extra,
    )


@pytest.fixture(scope="module")
def fakes() -> Iterator[dict[str, str]]:
    """One standalone fake per spec (their states never mix)."""
    from contextlib import ExitStack

    with ExitStack() as stack:
        yield {name: stack.enter_context(standalone_fake()) for name in SPECS}


@pytest.fixture(scope="module")
def schemas() -> dict[str, Any]:
    """Each spec, prepared and loaded by Schemathesis."""
    return {name: schemathesis.openapi.from_dict(prepared_spec(name)) for name in SPECS}


def request_headers(spec: str) -> dict[str, str]:
    """Bearer token (the trimmed specs carry no security schemes) and the pinned version."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    version = SPECS[spec][1]
    if version is not None:
        headers["Polar-Version"] = version
    return headers


def has_negative_data(method: str, path: str) -> bool:
    """Whether a request of the operation can violate the spec at all.

    ``GET …/client/{client_secret}`` has one parameter, an unconstrained string in the path:
    every value is valid, so Schemathesis has no negative data to make for it.
    """
    return not (method == "GET" and path.endswith("/client/{client_secret}"))


#: Defects of the fake (not of Polar's spec) that Schemathesis finds today. Generated runs
#: excuse them (whether a short run meets one depends on what else ran before), and each has
#: a fixed reproduction below, ``test_fake_defect``, that xfails strictly: fixing the fake
#: turns it into a failure until its entry here is removed.
FAKE_DEFECTS: list[dict[str, Any]] = []


def case_id(spec: str, method: str, path: str, mode: GenerationMode) -> str:
    """The pytest id of one (spec, operation, mode) run."""
    return f"{spec}-{mode.value}-{method} {path}"


CASES = [
    pytest.param(spec, method, path, mode, id=case_id(spec, method, path, mode))
    for spec in SPECS
    for method, path in operations(spec)
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE or has_negative_data(method, path)
]


@pytest.mark.slow
@pytest.mark.parametrize(("spec", "method", "path", "mode"), CASES)
def test_operation(fakes, schemas, spec, method, path, mode):
    """Generated requests for one operation: every answer passes the checks or is a known gap."""
    operation = schemas[spec][path][method]
    found = Findings(spec, known_gaps())
    headers = request_headers(spec)
    base_url = fakes[spec]
    answered: list[int] = []
    with requests.Session() as session:

        @seed(SEED)
        @hypothesis_settings(EXAMPLES)
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case: Any) -> None:
            response = call_and_check(case, base_url, session, headers, found)
            if response is not None:
                answered.append(response.status_code)

        run()
    assert answered, "Schemathesis sent no request"
    assert not found.unexpected, f"seed {SEED}\n" + found.report()


@pytest.mark.slow
@pytest.mark.parametrize("spec", list(SPECS))
def test_stateful_links(fakes, schemas, spec):
    """Create → get/update/client routes (and list → get) through links, every answer checked."""
    found = Findings(spec, known_gaps())
    headers = request_headers(spec)
    base_url = fakes[spec]
    followed: dict[str, int] = {}
    session = requests.Session()

    @seed(SEED)
    class Machine(schemas[spec].as_state_machine()):  # type: ignore[misc]
        def call(self, case: Any, **kwargs: Any) -> Any:
            response = call_and_check(case, base_url, session, headers, found)
            if response is None:
                raise AssertionError("no answer:\n" + found.report())
            if response.status_code < 300:
                followed[case.operation.label] = followed.get(case.operation.label, 0) + 1
            return response

        def validate_response(self, response: Any, case: Any, *args: Any, **kwargs: Any) -> None:
            pass  # done in call(), where known gaps are told apart

    try:
        run_state_machine_as_test(
            Machine,
            settings=hypothesis_settings(STATEFUL_EXAMPLES, stateful_step_count=6),
            _min_steps=2,
        )
    finally:
        session.close()
    assert not found.unexpected, f"seed {SEED}\n" + found.report()
    # A 2xx from get-by-id or a client route needs a real id or secret: a link was followed.
    by_link = [label for label in followed if "{id}" in label or "{client_secret}" in label]
    assert by_link, f"no link was followed; 2xx answers: {followed}"


def test_known_gaps_are_reasoned_and_name_real_operations():
    """Every entry names specs, operations of them, a Schemathesis failure and a reason."""
    for gap in known_gaps():
        assert gap["specs"], gap
        assert gap["operations"], gap
        for operation in gap["operations"]:
            method, path = operation.split(" ", 1)
            assert any((method, path) in operations(spec) for spec in gap["specs"]), operation
        assert gap["failure"] in {
            "UndefinedStatusCode",
            "JsonSchemaError",
            "AcceptedNegativeData",
            "UndefinedContentType",
            "ServerError",
        }, gap
    for patch in load_json(KNOWN_GAPS)["spec_patches"]:
        assert patch["reason"], patch
        for spec in patch["specs"]:
            schemas = load_json(SPECS[spec][0])["components"]["schemas"]
            for name in patch["schemas"]:
                assert name in schemas, (spec, name)


_DEFECT_CASES = [
    pytest.param(
        spec,
        defect,
        id=f"{spec}-{defect['name']}",
        marks=pytest.mark.xfail(strict=True, reason=defect["reason"]),
    )
    for defect in FAKE_DEFECTS
    for spec in defect["specs"]
]

# Defined only while a defect is listed: an empty parametrisation would show as a skip.
if _DEFECT_CASES:

    @pytest.mark.parametrize(("spec", "defect"), _DEFECT_CASES)
    def test_fake_defect(fakes, spec, defect):
        """Each known defect of the fake, reproduced: Polar rejects this request with a 422."""
        method, path, query, body = defect["reproduce"]
        url = f"{fakes[spec]}{path}" + (f"?{query}" if query else "")
        answer = requests.request(method, url, json=body, headers=request_headers(spec), timeout=10)
        assert answer.status_code == 422, answer.text[:300]


#: Fixed defects, kept as plain tests: the request a generated run once found accepted.
FIXED_DEFECTS = {
    # create-other-fields-unvalidated: the dated create ignored the fields it does not use.
    "create-currency-0": {"products": [PRODUCT_IDS[1]], "currency": 0},
    "create-allow-trial-string": {"products": [PRODUCT_IDS[1]], "allow_trial": "x"},
    "create-trial-interval-count-0": {
        "products": [PRODUCT_IDS[1]],
        "trial_interval": "day",
        "trial_interval_count": 0,
    },
    "create-locale-not-bcp47": {"products": [PRODUCT_IDS[1]], "locale": "not a tag"},
    "create-return-url-relative": {"products": [PRODUCT_IDS[1]], "return_url": "/back"},
}


@pytest.mark.parametrize("spec", ["2026-04", "2026-10"])
@pytest.mark.parametrize("body", FIXED_DEFECTS.values(), ids=FIXED_DEFECTS.keys())
def test_fixed_defect_stays_fixed(fakes, spec, body):
    """A request a generated run once found the fake accepting: Polar answers 422."""
    url = f"{fakes[spec]}/v1/checkouts/"
    answer = requests.post(url, json=body, headers=request_headers(spec), timeout=10)
    assert answer.status_code == 422, answer.text[:300]
    assert answer.json()["error"] == "RequestValidationError"
