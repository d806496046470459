"""Reading the HTML pages back in tests: tables by id as rows of cell texts, sections in document order,
and what a page must not contain (anything fetched, any script)."""

from __future__ import annotations

import re

import lxml.html


def parse(text: str):
    return lxml.html.fromstring(text)


def cells(el) -> str:
    return " ".join(el.text_content().split())


def table(doc, table_id: str) -> list[list[str]]:
    """The body rows of the table with this id, each a list of its cells' texts (whitespace collapsed)."""
    found = doc.xpath(f'//table[@id="{table_id}"]')
    assert len(found) == 1, f"table {table_id}: {len(found)} found"
    return [[cells(td) for td in tr.xpath("./td")] for tr in found[0].xpath("./tbody/tr")]


def headers(doc, table_id: str) -> list[str]:
    return [cells(th) for th in doc.xpath(f'//table[@id="{table_id}"]/thead/tr/th')]


def has_table(doc, table_id: str) -> bool:
    return bool(doc.xpath(f'//table[@id="{table_id}"]'))


def section_order(doc) -> list[str]:
    return [s.get("id") for s in doc.xpath("//section")]


def section_text(doc, section_id: str) -> str:
    return cells(doc.xpath(f'//section[@id="{section_id}"]')[0])


#: anything that would make a browser fetch or run something
FETCHING = re.compile(r"<script|<link|<img|<iframe|<object|<embed|\bsrc\s*=|@import|url\(\s*['\"]?(https?:|//)|"
                      r"href\s*=\s*['\"]?(https?:|//)", re.I)


def assert_self_contained(text: str) -> None:
    found = FETCHING.search(text)
    assert found is None, f"the page fetches or runs something: {found.group(0)!r}"
