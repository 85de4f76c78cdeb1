"""Code location ``hn_assets``: Hacker News items, comments and stories."""

from hn_assets.assets import ItemsConfig, comments, items, stories

__all__ = ["ItemsConfig", "comments", "items", "stories"]
