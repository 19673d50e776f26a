import pytest

from iec_pipeline.common.words import counted, described, plural

pytestmark = pytest.mark.fast


@pytest.mark.parametrize(
    ("noun", "count", "expected"),
    [
        ("page", 1, "page"),
        ("page", 0, "pages"),
        ("category", 2, "categories"),
        ("family", 3, "families"),
        ("family variant", 2, "family variants"),
        ("product model", 2, "product models"),
        ("batch", 2, "batches"),
        ("day", 2, "days"),
        ("attribute option", 1, "attribute option"),
    ],
)
def test_plural_agrees_with_the_count(noun, count, expected):
    assert plural(noun, count) == expected


def test_counted_groups_thousands_and_agrees():
    assert counted(1, "page") == "1 page"
    assert counted(12345, "product") == "12,345 products"


def test_described_lists_every_metadata_entry_under_the_summary():
    text = described("Akeneo products.", {"fetched": "read from Akeneo", "pages": "listing pages"})
    assert text.splitlines()[0] == "Akeneo products."
    assert "- `fetched`: read from Akeneo" in text and "- `pages`: listing pages" in text
