"""What one reader may see and where their uploads may land: the `Access` the library filters
every answer by, and the folder globs it is made of. Who the readers are (the users file,
sign-in) is the serving side's business (qa.serving.users, qa.serving.signin)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property


def glob_pattern(glob: str) -> re.Pattern[str]:
    """A folder glob as a pattern over names relative to the documents folder: "*" alone is
    everything; otherwise "*" stays within one folder and "**" crosses folders; a name without
    wildcards ("hr") is that file or everything under that folder."""
    if glob.strip() == "*":
        return re.compile(r".*", re.S)
    parts = re.split(r"(\*\*/?|\*|\?)", glob.strip().strip("/"))
    wild = {"**/": r"(?:.*/)?", "**": r".*", "*": r"[^/]*", "?": r"[^/]"}
    pattern = "".join(wild.get(part, re.escape(part)) for part in parts)
    return re.compile(pattern if len(parts) > 1 else pattern + r"(?:/.*)?", re.S)


@dataclass(frozen=True)
class Access:
    """What one reader may see and where their uploads may land (globs over sources)."""

    user: str | None  # None: this server has no sign-in, and every reader sees everything
    read: tuple[str, ...] = ("*",)
    write: tuple[str, ...] = ("*",)

    @cached_property
    def _read(self) -> list[re.Pattern[str]]:
        return [glob_pattern(glob) for glob in self.read]

    @cached_property
    def _write(self) -> list[re.Pattern[str]]:
        return [glob_pattern(glob) for glob in self.write]

    @property
    def everything(self) -> bool:
        return "*" in self.read

    def may_read(self, source: str) -> bool:
        return any(pattern.fullmatch(source) for pattern in self._read)

    def may_write(self, source: str) -> bool:
        return any(pattern.fullmatch(source) for pattern in self._write)

    def readable(self, sources: list[str]) -> list[str]:
        return sources if self.everything else [s for s in sources if self.may_read(s)]

    def upload_folder(self) -> str | None:
        """The folder an upload lands in: the first write glob's folder before any wildcard."""
        for glob in self.write:
            before_wildcard = re.split(r"[*?]", glob.strip(), maxsplit=1)
            if len(before_wildcard) == 1:  # no wildcard: the glob names a folder
                return glob.strip().strip("/")
            folder = before_wildcard[0]
            return folder.rsplit("/", 1)[0] if "/" in folder else ""
        return None


EVERYONE = Access(None)
