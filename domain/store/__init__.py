"""The library database. This package is the only code that writes SQL."""

from domain.store.database import Store

__all__ = ["Store"]
