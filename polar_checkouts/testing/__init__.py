"""Fake Polar for tests, demos and offline development (being built: issue 3)."""
