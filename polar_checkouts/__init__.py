"""Sell through Polar (polar.sh) from a Django shop."""

__version__ = "0.1.0"
