"""closelib: month-end close and audit suite for accounts receivable."""

__version__ = "0.1.0"
