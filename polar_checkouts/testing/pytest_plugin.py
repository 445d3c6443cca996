"""pytest plugin entry point for the fake Polar (fixtures arrive with issue 3)."""
