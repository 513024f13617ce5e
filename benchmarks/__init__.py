"""Benchmarks of the close at several book sizes (``python -m benchmarks``, ``make bench``).

Not tests: nothing here asserts a time. Every measured step runs in a subprocess of its
own, so its peak memory is its own (see :mod:`benchmarks.measure`).
"""
