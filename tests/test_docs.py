"""The README stays a five-minute read, and no link in it or in docs/ leads nowhere."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README_MAX_BYTES = 12 * 1024
# docs/settings.md is generated from the settings' declaration, which another branch of issue 34
# adds; the README links it already. Once it is merged, this exception can go.
NOT_YET_MERGED = {ROOT / "docs" / "settings.md"}
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
INLINE_CODE = re.compile(r"`[^`\n]*`")
HEADING = re.compile(r"^#+ (.+)$", re.M)


def relative_links(markdown: str) -> list[str]:
    """Every link and image target outside code that points into the repository (or the page)."""
    prose = INLINE_CODE.sub("", FENCE.sub("", markdown))
    targets = [match.group(1) for match in LINK.finditer(prose)]
    return [target for target in targets
            if not re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I)]


def anchors(page: Path) -> set[str]:
    """The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces to -."""
    headings = HEADING.findall(FENCE.sub("", page.read_text(encoding="utf-8")))
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
            for heading in headings}


def test_relative_links_are_found_outside_code() -> None:
    markdown = ("[a](docs/a.md) ![b](b.png \"title\") [web](https://x.org) [here](#top)\n"
                "`[c](c.md)`\n```\n[d](d.md)\n```\n[e](e.md#part)\n")
    assert relative_links(markdown) == ["docs/a.md", "b.png", "#top", "e.md#part"]


def test_readme_is_a_five_minute_read() -> None:
    size = len((ROOT / "README.md").read_bytes())
    assert size < README_MAX_BYTES, f"README.md is {size:,} bytes; keep it under {README_MAX_BYTES:,}"


@pytest.mark.parametrize("page", [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))],
                         ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_leads_to_a_file(page: Path) -> None:
    broken = []
    for target in relative_links(page.read_text(encoding="utf-8")):
        file, _, anchor = target.partition("#")
        path = (page.parent / file).resolve() if file else page
        if path in NOT_YET_MERGED:
            continue
        if not path.exists() or (anchor and path.suffix == ".md" and anchor not in anchors(path)):
            broken.append(target)
    assert not broken, f"{page.relative_to(ROOT)} links to files or headings that do not exist: {broken}"


def test_readme_links_every_page_of_docs() -> None:
    readme_targets = {(ROOT / target.split("#", 1)[0]).resolve()
                      for target in relative_links((ROOT / "README.md").read_text(encoding="utf-8"))}
    unlinked = [page.name for page in sorted((ROOT / "docs").glob("*.md")) if page not in readme_targets]
    assert not unlinked, f"README.md's map of docs/ does not link {unlinked}"
