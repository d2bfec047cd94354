"""perpmon: a live risk monitor for crypto perpetual futures and hedged books."""

__version__ = "0.1.0"
__all__ = ["__version__"]
