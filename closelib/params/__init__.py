"""Parameters: defaults, period overrides, a params file and ``-p`` overrides, merged and checked.

Order (later wins): ``parameters/defaults.yaml``, ``parameters/<PERIOD>.yaml``,
``--params FILE``, then each ``-p a.b=value``. Mappings merge key by key; lists and
scalars replace; a file's bucket-rate matrices and rating bands (:data:`WHOLE_MAPS`)
replace the earlier ones whole. The merged result is validated against :data:`SCHEMA`; every problem is
collected, and an unknown key names the nearest valid one.

YAML is read by :mod:`closelib.yamlfile` (bounded in size and alias expansion), which keeps
decimal numbers as :class:`~decimal.Decimal` built from their digits, so
``recon_tolerance: 1234.50`` is exact. The validated result is
JSON-safe (money as strings, rates as numbers), which is what papermill receives and the
manifest records; notebooks turn money back into minor units with :func:`money_minor`.

The package: :mod:`~closelib.params.spec` (the checks of one value),
:mod:`~closelib.params.schema` (every key), :mod:`~closelib.params.check` (the schema and
the rules between keys), :mod:`~closelib.params.load` (files and overrides merged).
"""

from closelib.params.check import bucket_labels, check_parameters, rating_band_value
from closelib.params.load import RunSettings, deep_merge, load_parameters, money_minor, parse_override
from closelib.params.schema import SCHEMA, WHOLE_MAPS

__all__ = [
    "SCHEMA",
    "WHOLE_MAPS",
    "RunSettings",
    "bucket_labels",
    "check_parameters",
    "deep_merge",
    "load_parameters",
    "money_minor",
    "parse_override",
    "rating_band_value",
]
