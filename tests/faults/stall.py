"""An app for the process-fault tests: stall a sync in the middle of a page, on demand.

With ``POLAR_FAULT_STALL_AT=N`` in the environment, the N-th ``checkout_updated`` signal
of the process (sent inside the transaction that stores a sync page) creates the file
``POLAR_FAULT_STALL_FILE`` and sleeps, so the test can ``kill -9`` the process with a
page half-written in an open transaction.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from django.apps import AppConfig

_seen = 0


def _stall(sender: Any, **kwargs: Any) -> None:
    global _seen
    _seen += 1
    if _seen == int(os.environ["POLAR_FAULT_STALL_AT"]):
        Path(os.environ["POLAR_FAULT_STALL_FILE"]).write_text(str(os.getpid()))
        time.sleep(120)


class StallConfig(AppConfig):
    name = "tests.faults"
    label = "polar_fault_stall"

    def ready(self) -> None:
        if os.environ.get("POLAR_FAULT_STALL_AT"):
            from polar_checkouts.signals import checkout_updated

            checkout_updated.connect(_stall, dispatch_uid="polar-fault-stall")
