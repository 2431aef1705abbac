"""How a setting is declared: its name, type, allowed values, one line of help and its stage.

A declaration is all qa knows about a setting: its environment variable (QA_<NAME>), its
command-line flag, how its text is parsed, how a value is checked, and its row in
docs/settings.md all come from it. qa.core.settings declares the fields of `Settings` this way;
a plug-in (a backend) declares its own with `Option` and hands them to
qa.core.settings.declare.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The stages a setting belongs to, in the order docs/settings.md lists them.
READING, INDEXING, SEARCHING, SERVING = "reading", "indexing", "searching", "serving"
GROUPS = {READING: "Reading documents (and OCR)", INDEXING: "Indexing (embedding and the index)",
          SEARCHING: "Searching", SERVING: "Serving (the page, the APIs, following the folder)"}

_TRUE = ("on", "true", "yes", "1")
_FALSE = ("off", "false", "no", "0")
MASK = "***"  # what is printed for a secret's value
_KIND_NAMES = {bool: "on/off", int: "integer", float: "number", str: "text", Path: "path"}


class SettingError(ValueError):
    """A setting's value is not one it allows; the message names the setting, the value and
    what is allowed."""


@dataclass(frozen=True)
class Option:
    """One setting: `kind` is bool, int, float, str or Path; a value must be one of `choices`
    (when given), match `pattern` (described by `pattern_help`), and lie at or above `least`,
    strictly above `above`, at or below `most`. A `secret` one (a token, a password) is shown
    masked wherever qa prints or logs settings."""

    name: str
    kind: type
    default: Any
    help: str
    group: str
    choices: tuple[str, ...] = ()
    least: float | None = None
    above: float | None = None
    most: float | None = None
    pattern: str = ""
    pattern_help: str = ""
    flag: str = ""  # the command-line flag that sets it, where the CLI offers one
    secret: bool = False

    def __post_init__(self) -> None:
        if self.group not in GROUPS:
            raise ValueError(f"{self.name}: group must be one of {', '.join(GROUPS)}")
        self.check(self.default, self.name)  # a declaration's own default must pass

    @property
    def variable(self) -> str:
        return "QA_" + self.name.upper()

    def allowed(self) -> str:
        """What a value may be, as the end of "<name> must be ..."."""
        if self.kind is bool:
            return "true or false (in a variable: on/off, true/false, yes/no or 1/0)"
        if self.choices:
            if len(self.choices) == 2:
                return " or ".join(self.choices)
            return "one of " + ", ".join(self.choices)
        if self.pattern:
            return self.pattern_help
        if self.kind in (int, float):
            return f"{'an integer' if self.kind is int else 'a number'}{self._bounds()}"
        return "a path" if self.kind is Path else "text"

    def _bounds(self) -> str:
        low = self.least if self.least is not None else self.above
        if low is not None and self.most is not None:
            if self.least is not None:
                return f" between {low:g} and {self.most:g}"
            return f" above {low:g} and at most {self.most:g}"
        if self.least is not None:
            return f" >= {self.least:g}"
        if self.above is not None:
            return f" > {self.above:g}"
        return f" <= {self.most:g}" if self.most is not None else ""

    def check(self, value: Any, label: str) -> Any:
        """The value, as the setting keeps it (a str path as a Path, an int as a float where a
        number is asked); SettingError, naming `label`, when it is not allowed."""
        kept = self._typed(value)
        if kept is None or not self._within(kept):
            raise SettingError(f"{label} must be {self.allowed()}, got {self._quoted(value)}")
        return kept

    def _typed(self, value: Any) -> Any:
        if self.kind is bool:
            return value if isinstance(value, bool) else None
        if isinstance(value, bool):
            return None
        if self.kind is int:
            return value if isinstance(value, int) else None
        if self.kind is float:
            return float(value) if isinstance(value, int | float) else None
        if self.kind is Path:
            return Path(value) if isinstance(value, str | os.PathLike) else None
        return value if isinstance(value, str) else None

    def _within(self, value: Any) -> bool:
        if self.choices:
            return value in self.choices
        if self.pattern:
            return re.fullmatch(self.pattern, value) is not None
        if self.kind in (int, float):
            return math.isfinite(value) and (self.least is None or value >= self.least) \
                and (self.above is None or value > self.above) \
                and (self.most is None or value <= self.most)
        return True

    def parse(self, text: str, label: str) -> Any:
        """A value from its text (an environment variable's), checked."""
        try:
            if self.kind is bool:
                if text.lower() not in _TRUE + _FALSE:
                    raise ValueError(text)
                return text.lower() in _TRUE
            return self.check(self.kind(text), label)
        except ValueError:  # SettingError too: the message quotes the text as it was given
            raise SettingError(f"{label} must be {self.allowed()}, got {self._quoted(text)}") \
                from None

    def text(self, value: Any) -> str:
        """A value as its environment variable says it (parse reads it back)."""
        if self.kind is bool:
            return "on" if value else "off"
        return str(value)

    def shown(self, value: Any) -> str:
        """A value as qa prints it: its text, or `***` for a secret that is set."""
        return MASK if self.secret and value != "" else self.text(value)

    def _quoted(self, value: Any) -> str:
        return MASK if self.secret else repr(value)

    def row(self) -> str:
        """The option's row in docs/settings.md."""
        default = f"`{self.shown(self.default)}`" if self.default != "" else "empty"
        cells = [f"`{self.variable}`", f"`{self.flag}`" if self.flag else "",
                 _KIND_NAMES[self.kind], default, self.allowed(), self.help]
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"
