"""What each db_ops job says before it is launched, and how a launch it refuses reads, in every environment.

As the UI shows them: the Launchpad checks run config against the job's config schema alone (the webserver's
``validate_config_from_snap``, which ``validate_config`` runs too), offers every resource's config to edit, and renders
the descriptions of jobs, ops, config fields and resources as Markdown; a failed run is shown, in the UI and on the
console, as the errors its step and run failure events record (the message, then any stack).
"""

import dagster as dg
import pytest
from dagster._config import validate_config

from db_ops.definitions import defs
from hn_testing.environments import local_snowflake_variables

#: Each environment: how ``use_environment`` makes it, and whether each of its jobs runs there.
ENVIRONMENTS = {
    "production": (("production", None), {}),
    "staging": (("staging", None), {}),
    "branch": (("branch", 42), {}),
    "local": (("local", None), {}),  # the warehouse is a DuckDB file
    "local-snowflake": (("local", None), local_snowflake_variables("ALICE", "ALICE")),
}
RUNS_HERE = {
    "production": {"clone_prod": True, "drop_prod_clone": True, "sweep_stale_clones": True},
    "staging": {"clone_prod": False, "drop_prod_clone": False},
    "branch": {"clone_prod": False, "drop_prod_clone": True},
    "local": {"clone_prod": True, "drop_prod_clone": True},
    "local-snowflake": {"clone_prod": False, "drop_prod_clone": False},
}
REFUSED = [(env, job) for env, jobs in RUNS_HERE.items() for job, runs in jobs.items() if not runs]
RUNS_WITH_PR_ID = [
    (env, job) for env, jobs in RUNS_HERE.items() for job, runs in jobs.items() if runs and job != "sweep_stale_clones"
]
OPS = {
    "clone_prod": "clone_production_database",
    "drop_prod_clone": "drop_database_clone",
    "sweep_stale_clones": "drop_stale_clones",
}
RUNS_IN = {
    "clone_prod": "production, local DuckDB",
    "drop_prod_clone": "production, its own branch deployment, local DuckDB",
    "sweep_stale_clones": "production",
}


@pytest.fixture
def in_environment(use_environment):
    def switch(environment: str) -> dg.Definitions:
        (name, pull_request_id), extra = ENVIRONMENTS[environment]
        use_environment(name, pull_request_id, **extra)
        return defs()

    return switch


def jobs(definitions: dg.Definitions) -> list[dg.JobDefinition]:
    """The location's jobs as they run, with its resources bound."""
    return [definitions.resolve_job_def(job.name) for job in definitions.jobs]


def launch(definitions: dg.Definitions, job_name: str, run_config: dict) -> dg.ExecuteInProcessResult:
    return definitions.resolve_job_def(job_name).execute_in_process(run_config=run_config, raise_on_error=False)


def failure_errors(result: dg.ExecuteInProcessResult) -> list:
    """The errors the UI and the console show for a failed run: its step failures', then the run failure's."""
    assert not result.success
    steps = [event.event_specific_data.error for event in result.get_step_failure_events()]
    (run,) = [e.event_specific_data.error for e in result.all_events if e.event_type is dg.DagsterEventType.RUN_FAILURE]
    return [*steps, run]


@pytest.mark.parametrize(("environment", "job_name"), REFUSED)
def test_a_refused_launch_says_where_to_run_it_before_asking_for_pr_id(environment, job_name, in_environment) -> None:
    definitions = in_environment(environment)
    job = definitions.resolve_job_def(job_name)

    assert validate_config(job.run_config_schema.config_type, {}).success, "the Launchpad asks for nothing here"
    (step, _run) = failure_errors(launch(definitions, job_name, {}))

    assert step.message.startswith(f"{job_name} runs")
    assert "not here" in step.message
    assert f'{{"ops": {{"{OPS[job_name]}": {{"config": {{"pr_id": "<PR>"}}}}}}}}' in step.message


@pytest.mark.parametrize(("environment", "job_name"), REFUSED)
def test_a_refusal_is_one_message_naming_where_and_the_run_config_with_no_stack_trace(
    environment, job_name, in_environment
) -> None:
    definitions = in_environment(environment)

    errors = failure_errors(launch(definitions, job_name, {"ops": {OPS[job_name]: {"config": {"pr_id": "7"}}}}))

    assert len(errors) == 2, "one step failure, and the run's failure, which repeats it"
    for error in errors:
        assert (error.stack, error.cls_name, error.cause) == ([], None, None)
        shown = error.to_string()  # what the console prints, and the UI shows, under the event's own line
        assert "site-packages" not in shown
        assert "Failure" not in shown
        assert "Stack Trace" not in shown
        assert (
            "Launch it in the production deployment's db_ops location with run config "
            f'{{"ops": {{"{OPS[job_name]}": {{"config": {{"pr_id": "7"}}}}}}}}'
        ) in shown


def test_a_branch_deployment_refuses_another_pull_request_s_clone_in_one_message(in_environment) -> None:
    definitions = in_environment("branch")

    errors = failure_errors(
        launch(definitions, "drop_prod_clone", {"ops": {"drop_database_clone": {"config": {"pr_id": "7"}}}})
    )

    for error in errors:
        assert error.stack == []
        assert error.message == (
            "This branch deployment belongs to pull request 42; it may not act on the clone of pull request 7. "
            "Launch it in the production deployment's db_ops location with run config "
            '{"ops": {"drop_database_clone": {"config": {"pr_id": "7"}}}}.'
        )


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_each_job_says_where_it_runs_before_launch(environment, in_environment) -> None:
    definitions = in_environment(environment)

    assert {job.name for job in definitions.jobs} == set(RUNS_HERE[environment])
    for job in definitions.jobs:
        refused = not RUNS_HERE[environment][job.name]
        expected = {"hn/runs_in": RUNS_IN[job.name], **({"hn/runs_here": "no"} if refused else {})}
        assert job.tags == expected, job.name
        assert ("**Not here**" in job.description) is refused, job.description
        assert f'run config `{{"ops": {{"{OPS[job.name]}": {{"config": {{' in job.description, job.description
        if refused:
            assert "launch it in the production deployment's `db_ops` location" in job.description


@pytest.mark.parametrize(("environment", "job_name"), RUNS_WITH_PR_ID)
def test_pr_id_is_required_where_the_job_runs(environment, job_name, in_environment) -> None:
    job = in_environment(environment).resolve_job_def(job_name)
    op_config = job.run_config_schema.config_type.fields["ops"].config_type.fields[OPS[job_name]]
    pr_id = op_config.config_type.fields["config"].config_type.fields["pr_id"]

    assert pr_id.is_required
    assert pr_id.default_provided is False
    checked = validate_config(job.run_config_schema.config_type, {"ops": {OPS[job_name]: {"config": {}}}})
    assert [error.message for error in checked.errors or []] == [
        f'Missing required config entry "pr_id" at path root:ops:{OPS[job_name]}:config. You must provide this '
        "value in your run config. Example config for the missing entry: {'pr_id': '...'}"
    ]


def resource_fields(job: dg.JobDefinition) -> dict[str, list[str]]:
    """Each resource's config fields as the Launchpad offers them, by resource key."""
    offered = {}
    for key, field in job.run_config_schema.config_type.fields["resources"].config_type.fields.items():
        config = field.config_type.fields.get("config")
        offered[key] = sorted(getattr(config.config_type, "fields", {})) if config else []
    return offered


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_launchpad_offers_no_db_ops_resource_config(environment, in_environment) -> None:
    """What the location binds is the deployment's: no stand-in with an ``environment`` to edit, no role or warehouse
    path to change at launch (``io_manager`` is Dagster's own; ``snowflake`` is hn_core's, bound as in hn_assets)."""
    definitions = in_environment(environment)

    for job in jobs(definitions):
        offered = resource_fields(job)
        assert all("environment" not in fields for fields in offered.values()), offered
        assert {
            key: fields for key, fields in offered.items() if fields and key not in ("io_manager", "snowflake")
        } == {}


THEIRS = ("io_manager", "snowflake")


def descriptions(definitions: dg.Definitions) -> dict[str, str]:
    """Every description the UI renders for db_ops: jobs, ops (the graph's nodes), the config fields and types of the
    ops and resources (the Launchpad's schema pane), and the resources; not Dagster's own words (``io_manager``, and
    dagster-snowflake's ``snowflake``)."""
    found = {}
    for job in jobs(definitions):
        found[job.name] = job.description
        for node in job.graph.node_defs:
            found[f"{job.name}.{node.name}"] = node.description
        schema = job.run_config_schema.config_type.fields
        resources = {key: field for key, field in schema["resources"].config_type.fields.items() if key not in THEIRS}
        roots = [schema["ops"], *resources.values()]
        for key, field in resources.items():
            found[f"{job.name}.resources.{key}"] = field.description
        for config_type in (nested for root in roots for nested in root.config_type.type_iterator()):
            found[f"{job.name}.{config_type.key}"] = config_type.description
            for name, field in getattr(config_type, "fields", {}).items():
                found[f"{job.name}.{config_type.key}.{name}"] = field.description
    for key, resource in (definitions.resources or {}).items():
        if key not in THEIRS:
            found[f"resource {key}"] = getattr(resource, "description", None)
    return {place: text for place, text in found.items() if text}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_description_reads_as_markdown(environment, in_environment) -> None:
    """reStructuredText's double backticks would show literally, and a line indented after a blank one as code."""
    found = descriptions(in_environment(environment))

    assert any("pr_id" in place or "pr_id" in text for place, text in found.items())
    assert {place: text for place, text in found.items() if "``" in text or "\n\n    " in text} == {}
