"""Reading parameter YAML: exact numbers, and bounded so that no file can exhaust the machine.

A parameters file is small text a person writes. Anything else is refused with one
clear problem before it is built into Python objects:

* more than :data:`MAX_BYTES` bytes, or bytes that are not UTF-8 text (a binary file);
* more than :data:`MAX_ALIASES` aliases (``*name``), or a document that would expand to more
  than :data:`MAX_NODES` values once its aliases are followed (the "billion laughs" bomb,
  where a few lines of nested aliases expand to gigabytes when the values are copied or
  printed), or an alias that contains itself;
* nesting deeper than Python can follow, and whole numbers longer than :data:`MAX_DIGITS`.

Decimal numbers are read as :class:`~decimal.Decimal` built from their digits, so
``recon_tolerance: 1234.50`` is exact; integers are plain decimal only (YAML 1.1's octal
``0120`` and sexagesimal ``1:30`` stay the text written).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from closelib.errors import ParameterError, clip

MAX_BYTES = 1 << 20  # 1 MiB: the defaults file is about 10 KiB
MAX_ALIASES = 100
MAX_NODES = 100_000  # values after following aliases; the defaults have about 600
MAX_DIGITS = 40  # a whole number longer than this is no parameter


class _ExactLoader(yaml.SafeLoader):
    """SafeLoader whose floats are Decimals from the written digits, with bounded aliases."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._aliases = 0

    def compose_node(self, parent, index):  # PyYAML's own signature
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise ParameterError([f"more than {MAX_ALIASES} aliases (*name): refused"])
        return super().compose_node(parent, index)

    def compose_document(self):
        node = super().compose_document()
        if node is not None:
            _expanded_size(node)
        return node


def _expanded_size(root: yaml.Node) -> int:
    """How many values ``root`` stands for once every alias is followed; raises past
    :data:`MAX_NODES` or on an alias inside itself. Each distinct node is sized once."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise ParameterError(["an alias refers to a value that contains it: refused"])
        active.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(item) for item in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        active.discard(key)
        if total > MAX_NODES:
            raise ParameterError([f"expands to more than {MAX_NODES:,} values: refused"])
        sizes[key] = total
        return total

    return size(root)


def _decimal_constructor(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Decimal:
    text = loader.construct_scalar(node).replace("_", "")
    if text.lower().lstrip("+-") in (".inf", ".nan"):
        raise yaml.constructor.ConstructorError(None, None, f"{text} is not a usable number", node.start_mark)
    try:
        return Decimal(text)
    except InvalidOperation:  # YAML 1.1 sexagesimal (1:30.5) and the like: not a number here
        raise yaml.constructor.ConstructorError(
            None, None, f"{clip(text)} is not a plain decimal number", node.start_mark
        ) from None


def _int_constructor(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int | str:
    """Plain decimal integers only. YAML 1.1 reads ``0120`` as octal 80 and ``1:30`` as 90;
    here such scalars stay the text written, so an account code ``0120`` keeps its zero."""
    text = loader.construct_scalar(node)
    if re.fullmatch(r"[-+]?(0|[1-9][0-9_]*)", text):
        digits = text.replace("_", "")
        if len(digits.lstrip("+-")) > MAX_DIGITS:
            raise yaml.constructor.ConstructorError(
                None, None, f"a whole number of {len(digits)} digits is out of range", node.start_mark
            )
        return int(digits)
    return text


_ExactLoader.add_constructor("tag:yaml.org,2002:float", _decimal_constructor)
_ExactLoader.add_constructor("tag:yaml.org,2002:int", _int_constructor)


def load_yaml(text: str, origin: str = "<text>") -> Any:
    """``text`` as YAML within the bounds above; any breach is a :class:`ParameterError`."""
    if len(text) > MAX_BYTES:
        raise ParameterError([f"{origin}: more than {MAX_BYTES:,} characters: not a parameters file"])
    try:
        return yaml.load(text, Loader=_ExactLoader)
    except ParameterError as exc:  # a bound above, breached while composing
        raise ParameterError([f"{origin}: {problem}" for problem in exc.problems]) from None
    except yaml.YAMLError as exc:
        raise ParameterError([f"{origin}: not valid YAML: {_cut(str(exc))}"]) from None
    except RecursionError:
        raise ParameterError([f"{origin}: nested too deeply"]) from None


def _cut(message: str, limit: int = 500) -> str:
    return message if len(message) <= limit else message[:limit] + " ..."


def read_yaml_file(path: Path) -> dict:
    """A parameters file as a mapping: text of at most :data:`MAX_BYTES` bytes, UTF-8, YAML."""
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise ParameterError([f"{path}: not a file"])
        if size > MAX_BYTES:
            raise ParameterError([f"{path}: {size:,} bytes, more than {MAX_BYTES:,}: not a parameters file"])
        data = path.read_bytes()
    except FileNotFoundError:
        raise ParameterError([f"{path}: file not found"]) from None
    except OSError as exc:
        raise ParameterError([f"{path}: cannot be read ({exc.strerror or exc})"]) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParameterError(
            [f"{path}: not UTF-8 text (byte {exc.start + 1} is not): a binary file is no parameters file"]
        ) from None
    if "\x00" in text:
        raise ParameterError([f"{path}: contains NUL bytes: a binary file is no parameters file"])
    loaded = load_yaml(text, str(path))
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ParameterError([f"{path}: must be a mapping of keys to values"])
    return loaded
