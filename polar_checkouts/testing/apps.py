"""``polar_checkouts.testing`` as a Django app, so its payment template and script are found.

Add it to ``INSTALLED_APPS`` where the fake Polar serves browsers (``POLAR_SERVER =
"fake"``): it ships ``polar_checkouts/payment/fake.html`` and
``polar_checkouts/testing/fake-payment.js``.
"""

from django.apps import AppConfig


class PolarCheckoutsTestingConfig(AppConfig):
    name = "polar_checkouts.testing"
    label = "polar_checkouts_testing"
    verbose_name = "Polar checkouts: fake Polar"
