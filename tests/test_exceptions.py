"""One base for every error the app raises on purpose, and the old import paths."""

from __future__ import annotations

import inspect
import typing

import pytest

from polar_checkouts import exceptions, models, payload, signals, types, webhooks


def test_every_exception_is_a_polar_error():
    classes = [
        cls
        for _, cls in inspect.getmembers(exceptions, inspect.isclass)
        if issubclass(cls, BaseException) and cls.__module__ == exceptions.__name__
    ]
    assert len(classes) > 10
    assert all(issubclass(cls, exceptions.PolarError) for cls in classes)


def test_stdlib_bases_callers_rely_on_are_kept():
    assert issubclass(exceptions.InvalidPayloadError, ValueError)


@pytest.mark.parametrize(
    ("module", "name"),
    [
        (models, "InvalidPayloadError"),
        (payload, "InvalidPayloadError"),
        (signals, "ReceiverError"),
        (webhooks, "WebhookRejected"),
    ],
)
def test_old_import_paths_name_the_same_class(module, name):
    assert getattr(module, name) is getattr(exceptions, name)


def test_the_typing_literal_has_its_own_name():
    assert set(typing.get_args(types.CheckoutStatusValue)) == set(models.CheckoutStatus.values)
    with pytest.warns(DeprecationWarning, match="CheckoutStatusValue"):
        assert types.CheckoutStatus is types.CheckoutStatusValue
