"""The reads of Dagster+'s GraphQL API that CI needs: a run's check evaluations and each asset's latest
materialization in a deployment (the pull request's report), and the runs carrying a tag (launch_run.py, to find a
run whose launch call died).

It reaches the API the way dagster-cloud-cli does (dagster_cloud_cli/core/graphql_client.py
``create_cloud_webserver_client`` and core/headers/impl.py ``get_dagster_cloud_api_headers``): a POST of the query
to ``<url>/graphql`` with the headers ``Dagster-Cloud-Api-Token`` and ``Dagster-Cloud-Deployment``, where the URL is
``DAGSTER_CLOUD_URL`` or, without it, ``https://<organization>.dagster.cloud/<deployment>`` (gql.py
``url_from_config``). The queries use the schema Dagster+ shares with the open-source webserver
(dagster_graphql/schema: ``logsForRun`` and its ``EventConnection``, ``AssetCheckEvaluationEvent``;
``assetsOrError``, which reads the event log, so that an asset production no longer defines still answers;
``runsOrError`` with a ``RunsFilter`` of tags), which is what the tests check them against.

Standard library only, like launch_run.py.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

TIMEOUT_SECONDS = 60
# Events per page of logsForRun: a run of a few assets has a few hundred.
PAGE = 1000

CHECK_EVALUATIONS = """
query HnRunCheckEvaluations($runId: ID!, $cursor: String, $limit: Int) {
  logsForRun(runId: $runId, afterCursor: $cursor, limit: $limit) {
    __typename
    ... on EventConnection {
      cursor
      hasMore
      events {
        __typename
        ... on AssetCheckEvaluationEvent {
          evaluation {
            checkName
            assetKey { path }
            success
            severity
            partition
            metadataEntries {
              label
              __typename
              ... on MarkdownMetadataEntry { mdStr }
              ... on TextMetadataEntry { text }
              ... on IntMetadataEntry { intValue }
              ... on FloatMetadataEntry { floatValue }
              ... on TimestampMetadataEntry { timestamp }
            }
          }
        }
      }
    }
    ... on RunNotFoundError { message }
    ... on PythonError { message }
  }
}
"""

LATEST_MATERIALIZATIONS = """
query HnLatestMaterializations($assetKeys: [AssetKeyInput!], $partitions: [String!]) {
  assetsOrError(assetKeys: $assetKeys) {
    __typename
    ... on AssetConnection {
      nodes {
        key { path }
        assetMaterializations(partitions: $partitions, limit: 1) { timestamp }
      }
    }
    ... on PythonError { message }
  }
}
"""


RUNS_TAGGED = """
query HnRunsTagged($filter: RunsFilter, $limit: Int) {
  runsOrError(filter: $filter, limit: $limit) {
    __typename
    ... on Runs { results { runId status creationTime } }
    ... on InvalidPipelineRunsFilterError { message }
    ... on PythonError { message }
  }
}
"""


class GraphQLError(Exception):
    """The API could not be reached, refused the query, or answered with errors."""


@dataclass(frozen=True)
class CheckEvaluation:
    check_name: str
    asset: str
    passed: bool
    severity: str
    partition: str | None
    metadata: dict[str, Any]


class DagsterPlus:
    """One deployment's GraphQL endpoint, with the CLI's URL and headers."""

    def __init__(
        self, deployment: str, environ: dict[str, str] | None = None, timeout: float = TIMEOUT_SECONDS
    ) -> None:
        environ = dict(os.environ if environ is None else environ)
        url = environ.get("DAGSTER_CLOUD_URL", "").strip()
        organization = environ.get("DAGSTER_CLOUD_ORGANIZATION", "").strip()
        base = url.rstrip("/") if url else f"https://{organization}.dagster.cloud/{deployment}"
        self.endpoint = f"{base}/graphql"
        self.deployment = deployment
        self.timeout = timeout
        self.headers = {
            "Content-Type": "application/json",
            "Dagster-Cloud-Api-Token": environ.get("DAGSTER_CLOUD_API_TOKEN", ""),
            "Dagster-Cloud-Deployment": deployment,
            # As the CLI's deployment-scoped client sends it (core/headers/auth.py DagsterCloudInstanceScope).
            "Dagster-Cloud-Scope": "deployment",
            "User-Agent": "hn-platform-ci (dagster-cloud-cli compatible)",
        }

    def query(self, text: str, variables: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps({"query": text, "variables": variables}).encode()
        request = urllib.request.Request(self.endpoint, data=body, headers=self.headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = json.load(response)
        except urllib.error.HTTPError as error:
            raise GraphQLError(f"{self.deployment}: HTTP {error.code} {error.reason} from {self.endpoint}") from None
        except (urllib.error.URLError, TimeoutError, OSError, json.JSONDecodeError) as error:
            raise GraphQLError(f"{self.deployment}: no answer from {self.endpoint} ({error})") from None
        if answer.get("errors"):
            messages = "; ".join(str(error.get("message", error)) for error in answer["errors"])
            raise GraphQLError(f"{self.deployment}: the query was refused: {messages}")
        return answer["data"]

    def check_evaluations(self, run_id: str) -> list[CheckEvaluation]:
        """Every check evaluation of the run, in the order the run recorded them."""
        evaluations: list[CheckEvaluation] = []
        cursor = None
        while True:
            data = self.query(CHECK_EVALUATIONS, {"runId": run_id, "cursor": cursor, "limit": PAGE})["logsForRun"]
            if data["__typename"] != "EventConnection":
                raise GraphQLError(f"{self.deployment}: no events for run {run_id}: {data.get('message', data)}")
            for event in data["events"]:
                if event["__typename"] == "AssetCheckEvaluationEvent":
                    evaluations.append(_evaluation(event["evaluation"]))
            if not data["hasMore"]:
                return evaluations
            cursor = data["cursor"]

    def runs_tagged(self, key: str, value: str, limit: int) -> list[tuple[str, str]]:
        """(run id, status) of the newest ``limit`` runs tagged ``key=value``, newest first."""
        variables = {"filter": {"tags": [{"key": key, "value": value}]}, "limit": limit}
        answer = self.query(RUNS_TAGGED, variables)["runsOrError"]
        if answer["__typename"] != "Runs":
            raise GraphQLError(f"{self.deployment}: no runs: {answer.get('message', answer)}")
        runs = sorted(answer["results"], key=lambda run: run["creationTime"], reverse=True)
        return [(run["runId"], run["status"]) for run in runs]

    def latest_materializations(self, assets: list[str], partitions: list[str] | None = None) -> dict[str, float]:
        """When each of ``assets`` was last materialized here (seconds since the epoch), in any of ``partitions`` if
        given; absent if never."""
        keys = [{"path": asset.split("/")} for asset in assets]
        variables = {"assetKeys": keys, "partitions": partitions}
        answer = self.query(LATEST_MATERIALIZATIONS, variables)["assetsOrError"]
        if answer["__typename"] != "AssetConnection":
            raise GraphQLError(f"{self.deployment}: no assets: {answer.get('message', answer)}")
        return {
            "/".join(node["key"]["path"]): int(node["assetMaterializations"][0]["timestamp"]) / 1000
            for node in answer["nodes"]
            if node["assetMaterializations"]
        }


def _evaluation(evaluation: dict[str, Any]) -> CheckEvaluation:
    return CheckEvaluation(
        check_name=evaluation["checkName"],
        asset="/".join(evaluation["assetKey"]["path"]),
        passed=evaluation["success"],
        severity=evaluation["severity"],
        partition=evaluation.get("partition"),
        metadata={entry["label"]: _value(entry) for entry in evaluation["metadataEntries"]},
    )


def _value(entry: dict[str, Any]) -> Any:
    for field in ("mdStr", "text", "intValue", "floatValue", "timestamp"):
        if field in entry:
            return entry[field]
    return None
