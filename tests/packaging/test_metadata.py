"""pyproject's promises match what is tested and shipped (tox.ini's matrix, the catalogues)."""

from __future__ import annotations

import configparser
import itertools
import re

import trove_classifiers
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from tests.pyproject import PYPROJECT, ROOT

PROJECT = PYPROJECT["project"]
CLASSIFIERS = PROJECT["classifiers"]
#: The catalogues in polar_checkouts/locale, by their trove names (English is the source).
LANGUAGES = {
    "de": "German",
    "es": "Spanish",
    "fr": "French",
    "ja": "Japanese",
    "pt_BR": "Portuguese (Brazilian)",
}


def tox_matrix() -> set[tuple[str, str]]:
    """(python, django) pairs of tox.ini's envlist: ``py{310,311}-django42`` expanded."""
    tox = configparser.ConfigParser()
    tox.read(ROOT / "tox.ini", encoding="utf-8")
    pairs = set()
    for entry in tox["tox"]["envlist"].split():
        parts = [part.split(",") for part in re.split(r"[{}]", entry)]
        for name in map("".join, itertools.product(*parts)):
            match = re.fullmatch(r"py3(\d+)-django(\d)(\d|x)", name)
            if match:
                pairs.add((f"3.{match[1]}", f"{match[2]}.{match[3]}"))
    return pairs


def versions(prefix: str) -> set[str]:
    return {c.removeprefix(prefix) for c in CLASSIFIERS if re.fullmatch(rf"{prefix}[\d.]+", c)}


def test_every_classifier_is_a_known_one():
    assert [c for c in CLASSIFIERS if c not in trove_classifiers.classifiers] == []
    assert sorted(CLASSIFIERS) == CLASSIFIERS
    # PEP 639: the licence is the SPDX expression; setuptools refuses a License classifier too.
    assert PROJECT["license"] == "MIT"
    assert not [c for c in CLASSIFIERS if c.startswith("License ::")]


def test_python_classifiers_and_requires_python_are_the_tested_pythons():
    tested = {python for python, _ in tox_matrix()}
    assert tested == {"3.10", "3.11", "3.12", "3.13"}
    assert versions("Programming Language :: Python :: ") == tested | {"3"}
    oldest = min(tested, key=lambda v: tuple(map(int, v.split("."))))
    spec = SpecifierSet(PROJECT["requires-python"])
    assert oldest in spec
    assert f"3.{int(oldest.split('.')[1]) - 1}" not in spec


def test_django_classifiers_and_dependency_are_the_tested_djangos():
    tested = {django for _, django in tox_matrix()}
    # "6.x" is the newest 6 release pip finds: the classifiers name the feature releases.
    named = versions("Framework :: Django :: ")
    assert {v for v in tested if not v.endswith("x")} <= named
    assert {v.split(".")[0] for v in tested} == {v.split(".")[0] for v in named}
    [django] = [Requirement(r) for r in PROJECT["dependencies"] if Requirement(r).name == "Django"]
    oldest = min(named, key=lambda v: tuple(map(int, v.split("."))))
    assert oldest in django.specifier
    assert "4.1" not in django.specifier


def test_natural_language_classifiers_are_the_shipped_catalogues():
    locale = ROOT / "polar_checkouts" / "locale"
    shipped = {path.parent.name for path in locale.glob("*/LC_MESSAGES")}
    assert set(LANGUAGES) == shipped
    named = {c.removeprefix("Natural Language :: ") for c in CLASSIFIERS if "Natural Language" in c}
    assert named == {"English", *LANGUAGES.values()}
