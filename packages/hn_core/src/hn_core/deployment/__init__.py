"""Where this process runs and what it may touch: one resolver, validated names, one resource factory.

- ``resolve_target``, ``Target``, ``Environment``, ``Store``, ``ConfigurationError``: the environment resolver
  (``environment``)
- ``PRODUCTION_DATABASE``, ``HACKER_NEWS_SCHEMA``, ``BASE_SCHEMA``, ``CLONE_RECORD_TABLE``: the names of databases,
  schemas and tables (``names``)
- ``clone_database_name``, ``clone_pull_request_id``, ``validate_clone_name``, ``parse_pull_request_id``,
  ``parse_commit_sha``, ``InvalidNameError``: names built and validated in one place (``names``)
- ``build_resources``, ``build_warehouse_io_manager``, ``build_snowflake_resource``, ``credential_variables``,
  ``SnowflakeNotConfigured``: the resource factory (``resources``)
"""

from hn_core._lazy import lazy_exports

__all__, __getattr__ = lazy_exports(
    __name__,
    {
        "environment": ("resolve_target", "Target", "Environment", "Store", "ConfigurationError"),
        "names": (
            "PRODUCTION_DATABASE",
            "HACKER_NEWS_SCHEMA",
            "BASE_SCHEMA",
            "CLONE_RECORD_TABLE",
            "clone_database_name",
            "clone_pull_request_id",
            "validate_clone_name",
            "parse_pull_request_id",
            "parse_commit_sha",
            "InvalidNameError",
        ),
        "resources": (
            "build_resources",
            "build_warehouse_io_manager",
            "build_snowflake_resource",
            "credential_variables",
            "SnowflakeNotConfigured",
        ),
    },
)
