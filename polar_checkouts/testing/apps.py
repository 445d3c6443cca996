"""TEMP(h2b): the fake Polar as a Django app, so its payment template and script are found.

H2a writes the real one (label ``polar_checkouts_testing``); this stand-in only lets the
browser tests run on the arch-h2b branch.
"""

from django.apps import AppConfig


class PolarCheckoutsTestingConfig(AppConfig):
    name = "polar_checkouts.testing"
    label = "polar_checkouts_testing"
    verbose_name = "Polar checkouts: fake Polar"
