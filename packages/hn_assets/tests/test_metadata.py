"""What the UI shows: one column schema per asset, described; previews that read well and whose cost does not grow
with the data (the preview of a 5 MB text is the preview of its start)."""

from __future__ import annotations

import pandas as pd
import pytest

from hn_assets import comments, items, stories
from hn_assets.assets import COMMENTS_PREVIEW, ITEMS_PREVIEW
from hn_assets.metadata import environment_metadata, frame_metadata
from hn_core.hn_api import ITEMS_COLUMNS, ITEMS_DTYPES


def items_with_text(*texts: str) -> pd.DataFrame:
    records = [{"id": i + 1, "time": 1_700_000_000, "type": "comment", "text": text} for i, text in enumerate(texts)]
    rows = [{"dead": False, **record} for record in records]  # the API leaves `dead` out unless true
    return pd.DataFrame.from_records(rows, columns=list(ITEMS_COLUMNS)).astype(dict(ITEMS_DTYPES))


def test_a_preview_shows_only_the_start_of_long_texts() -> None:
    huge = "lorem ipsum " * 450_000  # 5.4 MB: the preview once took minutes, quadratic in the text's length

    preview = frame_metadata(items_with_text(huge, huge), ITEMS_PREVIEW)["preview"].value

    assert preview == frame_metadata(items_with_text(huge[:200], huge[:200]), ITEMS_PREVIEW)["preview"].value
    assert len(preview) < 3_000
    assert "…" in preview


def test_short_texts_are_previewed_whole() -> None:
    preview = frame_metadata(items_with_text("short and sweet"), COMMENTS_PREVIEW)["preview"].value

    assert "short and sweet" in preview


def test_a_preview_shows_the_newest_rows_first() -> None:
    frame = items_with_text(*(f"comment {i}" for i in range(1, 16)))  # ids 1..15, oldest first, as fetched

    preview = frame_metadata(frame, COMMENTS_PREVIEW)["preview"].value

    rows = preview.splitlines()[2:]
    assert [int(row.strip("|").split("|")[0]) for row in rows] == list(range(15, 5, -1))


@pytest.mark.parametrize(
    ("environment", "pull_request_id", "name"),
    [("local", None, "local"), ("staging", None, "staging"), ("production", None, "production"),
     ("branch", 42, "branch (pull request 42)")],
)  # fmt: skip
def test_metadata_names_the_environment(use_environment, environment, pull_request_id, name) -> None:
    use_environment(environment, pull_request_id)

    assert environment_metadata() == {"environment": name}
    assert frame_metadata(items_with_text("hello"), COMMENTS_PREVIEW)["environment"] == name


def test_a_preview_shows_its_columns_with_times_in_utc() -> None:
    preview = frame_metadata(items_with_text("hello"), COMMENTS_PREVIEW)["preview"].value

    header = preview.splitlines()[0]
    assert [cell.strip() for cell in header.strip("|").split("|")] == ["id", "time (UTC)", "user_id", "parent", "text"]
    assert "2023-11-14 22:13" in preview
    assert "1700000000" not in preview


def test_each_asset_has_one_column_schema_describing_every_column() -> None:
    for asset in (items, comments, stories):
        schema = asset.specs_by_key[asset.key].metadata["dagster/column_schema"]

        assert [column.name for column in schema.columns] == list(ITEMS_COLUMNS)
        assert all(column.description for column in schema.columns)
        assert [column.type for column in schema.columns] == list(ITEMS_DTYPES.values())


@pytest.mark.parametrize("environment", ["local", "production"])
def test_every_asset_check_and_job_has_a_markdown_description(use_environment, environment) -> None:
    """Descriptions are Markdown in the UI: reStructuredText's double backticks would show literally (each
    warehouse's resources included)."""
    from hn_assets.definitions import defs

    use_environment(environment)
    definitions = defs()
    descriptions = {str(spec.key): spec.description for spec in definitions.resolve_all_asset_specs()}
    descriptions |= {str(check.key): check.description for check in definitions.resolve_asset_graph().asset_check_nodes}
    descriptions |= {job.name: job.description for job in definitions.jobs if not job.name.startswith("__")}

    assert all(descriptions.values()), descriptions
    # Resources (their class docstring) and every config field the Launchpad's schema pane shows, too.
    resources = {  # this project's own: a library's descriptions (dagster-snowflake's) are its authors' to mend
        key: resource
        for key, resource in definitions.get_repository_def().get_top_level_resources().items()
        if getattr(resource, "configurable_resource_cls", type(resource)).__module__.startswith(("hn_", "db_ops"))
    }
    descriptions |= {f"resource {key}": resource.description or "" for key, resource in resources.items()}
    schemas = [(f"resource {key}", r.config_schema) for key, r in resources.items()]
    schemas += [(f"op {node.name}", node.config_schema) for job in definitions.get_repository_def().get_all_jobs()
                for node in job.graph.node_defs]  # fmt: skip
    for owner, schema in schemas:
        fields = getattr(getattr(schema, "config_type", None), "fields", None) or {}
        descriptions |= {f"{owner}.{name}": field.description or "" for name, field in fields.items()}
    assert not [name for name, text in descriptions.items() if "``" in text]
