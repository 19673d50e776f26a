"""Words for people: counts with their noun in the right number, and asset descriptions that say
what each metadata entry means (Dagster's UI shows the description above the entries)."""

from __future__ import annotations

from collections.abc import Mapping

_IRREGULAR = {"child": "children", "family": "families", "category": "categories"}


def plural(noun: str, count: int = 2) -> str:
    """`noun` for `count` things: "1 page", "2 pages", "3 categories", "2 families", "1 batch"."""
    if count == 1:
        return noun
    head, _, last = noun.rpartition(" ")
    prefix = f"{head} " if head else ""
    if last in _IRREGULAR:
        return prefix + _IRREGULAR[last]
    if last.endswith("y") and last[-2:-1] not in ("a", "e", "i", "o", "u", ""):
        return prefix + last[:-1] + "ies"
    if last.endswith(("s", "x", "ch", "sh")):
        return prefix + last + "es"
    return prefix + last + "s"


def counted(count: int, noun: str) -> str:
    """ "1 page", "12,345 products", "0 dead jobs"."""
    return f"{count:,} {plural(noun, count)}"


def described(summary: str, entries: Mapping[str, str]) -> str:
    """An asset description: what it is, then what each of its metadata entries means."""
    lines = [summary, "", "**Metadata of each materialization**", ""]
    lines += [f"- `{key}`: {meaning}" for key, meaning in entries.items()]
    return "\n".join(lines)
