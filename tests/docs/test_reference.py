"""The reference pages (docs/reference/) list what the code has: every setting the code
reads, every system check, every management command option, every template tag and
filter, every signal with the arguments it is really sent with, every exception, every
route of the fake Polar. Each test fails when the code gains something the page lacks
(or the page keeps something the code dropped)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.conf import global_settings

import polar_checkouts
from polar_checkouts.conf import DEFAULTS
from tests.docs.harness import ROOT

PACKAGE = Path(polar_checkouts.__file__).parent
REFERENCE = ROOT / "docs" / "reference"


def page(name: str) -> str:
    return (REFERENCE / name).read_text()


def sources() -> list[tuple[Path, ast.Module]]:
    """Every module of the package (migrations aside), parsed."""
    return [
        (path, ast.parse(path.read_text()))
        for path in sorted(PACKAGE.rglob("*.py"))
        if "migrations" not in path.parts
    ]


def section(text: str, heading: str) -> str:
    """The text under a heading (``## `name```), up to the next heading of its level."""
    level = heading.split(" ", 1)[0]
    start = text.index(heading + "\n")
    following = re.search(rf"^{level} ", text[start + len(heading) :], re.M)
    end = start + len(heading) + following.start() if following else len(text)
    return text[start:end]


# Settings ------------------------------------------------------------------------------


def settings_read_by_the_code() -> set[str]:
    """Every setting name the package reads: ``polar_settings.X`` (``POLAR_X``),
    ``settings.X`` and ``getattr(settings, "X", …)`` of ``django.conf.settings``, and any
    ``POLAR_X`` named in a string (error messages, hints) that is no module constant."""
    names: set[str] = set()
    constants: set[str] = set()
    strings: set[str] = set()
    for _, tree in sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                if node.value.id == "polar_settings" and node.attr.isupper():
                    names.add("POLAR_" + node.attr)
                elif node.value.id == "settings" and node.attr.isupper():
                    names.add(node.attr)
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "getattr"
                and len(node.args) >= 2
                and isinstance(node.args[0], ast.Name)
                and node.args[0].id == "settings"
                and isinstance(node.args[1], ast.Constant)
                and isinstance(node.args[1].value, str)
            ):
                names.add(node.args[1].value)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                constants.update(t.id for t in targets if isinstance(t, ast.Name))
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                strings.update(re.findall(r"\bPOLAR_[A-Z][A-Z0-9_]*[A-Z0-9]\b", node.value))
    return names | (strings - constants)


def documented_settings() -> dict[str, str]:
    """``### `POLAR_X``` headings of settings.md → their **Default:** literal."""
    text = page("settings.md")
    found = {}
    for match in re.finditer(r"^### `([A-Z][A-Z0-9_]+)`\n\n\*\*Default:\*\* `([^`]*)`", text, re.M):
        found[match.group(1)] = match.group(2)
    return found


def test_every_setting_the_code_reads_is_in_the_settings_reference():
    read = settings_read_by_the_code()
    # Sanity: the scan sees what it should (a scan that finds nothing would pass).
    assert {"POLAR_SERVER", "POLAR_TRUSTED_PROXIES", "RATELIMIT_USE_CACHE"} <= read
    text = page("settings.md")
    own = {name for name in read if name not in dir(global_settings)}
    undocumented = sorted(name for name in own if f"`{name}`" not in text)
    assert not undocumented, (
        f"settings the code reads, missing from reference/settings.md: {undocumented}"
    )


def test_every_polar_setting_has_its_section_with_the_real_default():
    documented = documented_settings()
    expected = {"POLAR_" + name for name in DEFAULTS}
    assert set(documented) == expected, (
        f"missing: {sorted(expected - set(documented))}, "
        f"not settings: {sorted(set(documented) - expected)}"
    )
    wrong = {
        name: (shown, DEFAULTS[name.removeprefix("POLAR_")])
        for name, shown in documented.items()
        if ast.literal_eval(shown) != DEFAULTS[name.removeprefix("POLAR_")]
    }
    assert not wrong, f"documented defaults that are not the code's: {wrong}"


def test_every_polar_settings_attribute_the_code_reads_exists():
    read = {name for name in settings_read_by_the_code() if name.startswith("POLAR_")}
    assert read <= {"POLAR_" + name for name in DEFAULTS}


# System checks ------------------------------------------------------------------------


def test_every_system_check_is_in_the_checks_reference():
    ids = set()
    for _, tree in sources():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.keyword)
                and node.arg == "id"
                and isinstance(node.value, ast.Constant)
                and str(node.value.value).startswith("polar_checkouts.")
            ):
                ids.add(str(node.value.value))
    assert len(ids) >= 15
    rows = set(re.findall(r"^\| `(polar_checkouts\.[EWI]\d+)` \|", page("checks.md"), re.M))
    assert rows == ids, f"missing: {sorted(ids - rows)}, no longer checked: {sorted(rows - ids)}"


# Management commands ------------------------------------------------------------------

COMMANDS = sorted(
    path.stem for path in (PACKAGE / "management" / "commands").glob("polar_checkouts_*.py")
)


def option_rows(name: str) -> tuple[str, list[str]]:
    """A command's help and its options as the reference's table rows, from its parser."""
    from django.core.management import BaseCommand, load_command_class

    command = load_command_class("polar_checkouts", name)
    parser = command.create_parser("manage.py", name)
    common = {action.dest for action in BaseCommand().create_parser("manage.py", "x")._actions}
    rows = []
    for action in parser._actions:
        if action.dest in common:
            continue
        option = ", ".join(action.option_strings)
        if action.nargs != 0:
            option += " " + str(action.metavar or action.dest.upper())
        default = "" if action.default in (None, False) else f"`{action.default}`"
        meaning = (action.help or "") % {"default": action.default}
        rows.append(f"| `{option}` | {default} | {meaning} |".replace("|  |", "| |"))
    return str(command.help), rows


@pytest.mark.parametrize("name", COMMANDS)
def test_the_commands_reference_is_each_commands_help(name):
    text = section(page("commands.md"), f"## `{name}`")
    description, rows = option_rows(name)
    assert description in text, (
        f"reference/commands.md: {name}'s description should be:\n{description}"
    )
    table = "\n".join(rows)
    assert table in text, f"reference/commands.md: {name}'s options should be:\n{table}"


def test_every_command_is_in_the_commands_reference():
    headings = re.findall(r"^## `(\w+)`$", page("commands.md"), re.M)
    assert sorted(headings) == COMMANDS


# Template tags and filters -------------------------------------------------------------


def test_every_template_tag_and_filter_is_in_the_reference():
    from polar_checkouts.templatetags.polar_checkouts import register

    names = set(register.tags) | set(register.filters)
    assert len(names) >= 9
    headings = set(re.findall(r"^### `(\w+)`$", page("template-tags.md"), re.M))
    assert headings == names


# Signals ------------------------------------------------------------------------------


def signal_names() -> list[str]:
    from django.dispatch import Signal

    from polar_checkouts import signals

    return sorted(n for n in dir(signals) if isinstance(getattr(signals, n), Signal))


def documented_signal_arguments() -> dict[str, set[str]]:
    text = page("signals.md")
    found = {}
    for name in re.findall(r"^### `(\w+)`$", text, re.M):
        body = section(text, f"### `{name}`")
        match = re.search(r"^\*\*Arguments:\*\* (.+)$", body, re.M)
        assert match, f"signals.md: {name} has no **Arguments:** line"
        found[name] = set(re.findall(r"`(\w+)`", match.group(1)))
    return found


def test_every_signal_is_in_the_signals_reference():
    assert set(documented_signal_arguments()) == set(signal_names())


@pytest.mark.django_db
def test_each_signal_is_sent_with_the_documented_arguments(signal_log, polar_fake):
    """A purchase, then a membership's whole life through the webhook inbox: every signal
    fires, and the keyword arguments each is sent with are the ones the page lists."""
    from polar_checkouts.webhooks.processing import process_event, record_delivery
    from tests.docs.support import buy
    from tests.polar_objects import at
    from tests.webhooks.lifecycle import Membership

    buy()
    for number, (event_type, data) in enumerate(
        event for step in Membership(external_id="member").steps for event in step.events
    ):
        recorded, _ = record_delivery(
            webhook_id=f"msg_reference_{number}",
            payload={"type": event_type, "timestamp": at(10), "data": data},
            headers={},
        )
        process_event(recorded)

    sent: dict[str, set[str]] = {}
    for name in signal_names():
        calls = signal_log[name]
        assert calls, f"{name} was never sent"
        sent[name] = set().union(*(set(call) - {"sender"} for call in calls))
    assert sent == documented_signal_arguments()


# Exceptions ---------------------------------------------------------------------------


def test_every_exception_is_in_the_exceptions_reference():
    from polar_checkouts import exceptions

    classes = {
        name
        for name, value in vars(exceptions).items()
        if isinstance(value, type)
        and issubclass(value, BaseException)
        and value.__module__ == exceptions.__name__
    }
    assert "PolarError" in classes
    tree = section(page("exceptions.md"), "## The tree")
    listed = set(re.findall(r"`(\w+)`", tree))
    assert classes <= listed, f"missing from the tree: {sorted(classes - listed)}"


# The fake Polar -----------------------------------------------------------------------


def documented_control_routes() -> list[tuple[str, str]]:
    return re.findall(r"^\| `(GET|POST) (/_fake/[^`\s]+)` \|", page("fake.md"), re.M)


def control_route_words() -> set[str]:
    """The path segments ``routes.control_route`` matches (``rest == "reset"``,
    ``parts[0] == "orders"``, ``parts[2] in (...)``, the subscription actions)."""
    from polar_checkouts.testing.fake import routes

    tree = ast.parse(Path(routes.__file__).read_text())
    (function,) = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name == "control_route"
    ]
    words: set[str] = set(routes.SUBSCRIPTION_CONTROLS)
    for node in ast.walk(function):
        if not isinstance(node, ast.Compare):
            continue
        left = node.left
        about_path = (isinstance(left, ast.Name) and left.id == "rest") or (
            isinstance(left, ast.Subscript)
            and isinstance(left.value, ast.Name)
            and left.value.id == "parts"
        )
        if not about_path:
            continue
        for comparator in node.comparators:
            for constant in ast.walk(comparator):
                if isinstance(constant, ast.Constant) and isinstance(constant.value, str):
                    words.add(constant.value)
    return words


def test_every_control_route_of_the_fake_is_in_the_reference():
    words = control_route_words()
    assert {"reset", "advance-time", "refund", "revoke"} <= words
    segments = {segment for _, path in documented_control_routes() for segment in path.split("/")}
    assert words <= segments, f"reference/fake.md lacks routes for: {sorted(words - segments)}"


@pytest.mark.django_db
def test_every_documented_control_route_answers(polar_fake):
    """Each route of the page's table is served (no 404/405) with the ids it names; on a
    made-up route the fake answers 404, so the check can fail."""
    assert polar_fake.handle("POST", "/_fake/subscriptions/x/pause").status == 404
    from polar_checkouts.testing import PRODUCT_SUBSCRIPTION_ID, TOKEN_REQUIRES_ACTION
    from tests.docs.support import buy

    buy(PRODUCT_SUBSCRIPTION_ID)
    (subscription_id,) = polar_fake.subscriptions
    (order_id,) = polar_fake.orders
    bodies = {
        "advance-time": b'{"seconds": 1}',
        "faults": b'{"status": 503, "route": "get"}',
        "products": b'{"name": "Poster", "price_amount": 2500}',
    }
    routes = documented_control_routes()
    assert len(routes) >= 15
    # Revoking ends the subscription, resetting forgets everything: last.
    last = ("/revoke", "/reset")
    for method, path in sorted(
        routes, key=lambda route: route[1].endswith(last) + route[1].endswith("/reset")
    ):
        if "{client_secret}" in path:
            secret = buy(token=TOKEN_REQUIRES_ACTION).client_secret
            path = path.replace("{client_secret}", secret)
        target = path.replace("{id}", subscription_id if "subscriptions" in path else order_id)
        body = bodies.get(path.rsplit("/", 1)[-1], b"")
        response = polar_fake.handle(method, target, body=body)
        # Served: a 422 ("active, not past_due") is the route refusing, not a missing one.
        assert response.status not in (404, 405), (method, path, response.body[:200])


#: FakePolar's public methods the fake's own modules call with its lock held; a test
#: calls ``advance_time`` and the other controls instead.
FAKE_MACHINERY = {"move_clock", "emit", "touch", "tick"}


def test_every_control_of_the_fake_is_in_the_reference():
    from polar_checkouts.testing.fake import FakePolar

    public = {name for name, value in vars(FakePolar).items() if callable(value) and name[0] != "_"}
    text = page("fake.md")
    missing = sorted(n for n in public - FAKE_MACHINERY if not re.search(rf"\b{n}\b", text))
    assert not missing, f"reference/fake.md does not name FakePolar's {missing}"
    assert public >= FAKE_MACHINERY, "FAKE_MACHINERY names a method FakePolar no longer has"
