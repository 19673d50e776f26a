"""URL keys and the per-store URL rewrite index.

Magento refuses a save whose URL rewrite (``<url_key>.html`` for products, ``<url_path>.html`` for
categories) already belongs to another entity in the same store view.  Products and categories
share the rewrite table, so one index per store view holds both.  Kept as dicts so every check
is O(store views), never a scan of the catalog.
"""

from __future__ import annotations

import re
import unicodedata

from . import errors

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
Owner = tuple[str, int]  # ("product" | "category", entity id)


def format_url_key(value: str | None) -> str:
    """Magento's translitUrl: transliterate, lowercase, non-alphanumerics to '-', trim '-'."""
    if not value:
        return ""
    ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    return _NON_ALNUM.sub("-", ascii_text.lower()).strip("-")


class UrlIndex:
    """request path -> owner, per store view, plus the reverse map for cheap replacement."""

    def __init__(self, store_ids: tuple[int, ...]) -> None:
        self.paths: dict[int, dict[str, Owner]] = {sid: {} for sid in store_ids}
        self.by_owner: dict[Owner, dict[int, str]] = {}

    def check(self, owner: Owner, entries: dict[int, str], allowed: set[Owner] | None = None) -> None:
        """Raise Magento's error if any path is taken by someone else (``allowed`` owners excepted)."""
        for store_id, path in entries.items():
            holder = self.paths.get(store_id, {}).get(path)
            if holder is not None and holder != owner and not (allowed and holder in allowed):
                raise errors.bad_request(errors.URL_KEY_EXISTS)

    def replace(self, owner: Owner, entries: dict[int, str]) -> None:
        self.remove(owner)
        for store_id, path in entries.items():
            if store_id in self.paths and path:
                self.paths[store_id][path] = owner
        if entries:
            self.by_owner[owner] = dict(entries)

    def remove(self, owner: Owner) -> None:
        for store_id, path in self.by_owner.pop(owner, {}).items():
            if self.paths.get(store_id, {}).get(path) == owner:
                del self.paths[store_id][path]
