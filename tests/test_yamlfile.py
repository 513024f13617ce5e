"""closelib.yamlfile: parameter YAML is bounded (issue 17, point 7): no file exhausts the machine."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from closelib.errors import ParameterError
from closelib.yamlfile import MAX_BYTES, load_yaml, read_yaml_file

# Nine levels of nine aliases: 9**9 = 387 million strings once followed, from a dozen lines.
BOMB = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
)


def test_an_alias_bomb_is_refused_before_it_is_expanded():
    started = time.monotonic()
    with pytest.raises(ParameterError, match="expands to more than 100,000 values"):
        load_yaml(BOMB, "bomb.yaml")
    assert time.monotonic() - started < 5


def test_too_many_aliases_are_refused():
    text = "a: &a 1\nb: [" + ", ".join(["*a"] * 101) + "]\n"
    with pytest.raises(ParameterError, match="more than 100 aliases"):
        load_yaml(text)
    assert load_yaml("a: &a 1\nb: [" + ", ".join(["*a"] * 100) + "]\n")["b"] == [1] * 100


def test_an_alias_inside_itself_is_refused():
    with pytest.raises(ParameterError, match="contains it"):
        load_yaml("a: &a [1, *a]\n")


def test_deep_nesting_and_long_numbers_are_parameter_errors():
    with pytest.raises(ParameterError, match=r"nested too deeply|not valid YAML"):
        load_yaml("a: " + "[" * 100_000 + "]" * 100_000)
    with pytest.raises(ParameterError) as raised:
        load_yaml("a: " + "9" * 5000)
    assert "out of range" in str(raised.value) and len(str(raised.value)) < 1000


def test_a_binary_params_file_is_a_clear_error(tmp_path: Path):
    path = tmp_path / "bin.yaml"
    path.write_bytes(os.urandom(64) + b"\x95\x00")
    with pytest.raises(ParameterError, match=r"not UTF-8 text|NUL bytes"):
        read_yaml_file(path)
    path.write_bytes(b"a: 1\n\x00\x00")
    with pytest.raises(ParameterError, match="NUL bytes"):
        read_yaml_file(path)


def test_a_file_over_the_size_bound_is_refused_unread(tmp_path: Path):
    path = tmp_path / "huge.yaml"
    path.write_text("# " + "x" * MAX_BYTES + "\n")
    with pytest.raises(ParameterError, match="more than 1,048,576"):
        read_yaml_file(path)
    with pytest.raises(ParameterError, match=r"not a file|cannot be read"):
        read_yaml_file(tmp_path)
