"""Output metadata whose cost does not grow with the data: the preview of a 5 MB text is the preview of its start."""

from __future__ import annotations

import pandas as pd

from hn_assets.metadata import PREVIEW_CELL_CHARACTERS, frame_metadata
from hn_core import ITEMS_COLUMNS, ITEMS_DTYPES


def items_with_text(*texts: str) -> pd.DataFrame:
    records = [{"id": i + 1, "type": "comment", "text": text} for i, text in enumerate(texts)]
    return pd.DataFrame.from_records(records, columns=list(ITEMS_COLUMNS)).astype(dict(ITEMS_DTYPES))


def test_a_preview_shows_only_the_start_of_long_texts() -> None:
    huge = "lorem ipsum " * 450_000  # 5.4 MB: the preview once took minutes, quadratic in the text's length

    preview = frame_metadata(items_with_text(huge, huge))["preview"].value

    assert preview == frame_metadata(items_with_text(huge[:200], huge[:200]))["preview"].value
    assert len(preview) < 2 * PREVIEW_CELL_CHARACTERS * 10
    assert "…" in preview


def test_short_texts_are_previewed_whole() -> None:
    preview = frame_metadata(items_with_text("short and sweet"))["preview"].value

    assert "short and sweet" in preview
