"""The OpenAPI schema is true: schemathesis, every check on, finds the API doing nothing it does not declare.
(`make fuzz` runs the same against `tttc serve --model tiny`, with many more requests.)"""
from __future__ import annotations

from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")
from fastapi.testclient import TestClient  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import CHECKS  # noqa: E402
from schemathesis.config import SchemathesisConfig  # noqa: E402

from controller.api.server import create_app  # noqa: E402

CONFIG = Path(__file__).parent / "schemathesis.toml"   # the settings `make fuzz` uses
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def two_step_ttt():
    """The library's TTT strategies trained for two steps while this module runs: the schema is under test
    here, not training, and a 30x30 grid task would otherwise train for tens of seconds."""
    from dataclasses import replace

    from strategies.registry import registry
    reg = registry()
    kept = [s for s in reg.specs() if s.kind == "ttt"]
    for s in kept:
        train = {**s.settings.get("train", {}), "max_steps": 2, "eval_every": 0}
        reg.add(replace(s, settings={**s.settings, "train": train, "n_views": 2}), replace=True)
    yield
    for s in kept:
        reg.add(s, replace=True)


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory, tiny_rt, two_step_ttt):
    tmp = tmp_path_factory.mktemp("fuzz")
    app = create_app(runtime=tiny_rt, threads=str(tmp / "threads.sqlite"), db=f"sqlite:///{tmp / 'log.db'}")
    with TestClient(app):   # the app's lifespan, as under uvicorn
        yield schemathesis.openapi.from_asgi("/openapi.json", app, config=SchemathesisConfig.from_path(CONFIG))


# (schemathesis.pytest.from_fixture would read the app from a fixture, but it breaks on pytest 9: node._nodeid)
@pytest.mark.parametrize("mode", list(GenerationMode))
def test_the_api_does_what_its_openapi_schema_says(api_schema, mode):
    """Positive requests (schema-valid: must be accepted) and negative ones (must be refused), every
    operation, every check; 20 requests per operation and mode."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == 7
    if mode is GenerationMode.NEGATIVE:   # only a body or a path parameter can be wrong
        operations = [op for op in operations if op.body or op.path_parameters]
        assert len(operations) == 4

    for operation in operations:
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case):
            case.call_and_validate(checks=CHECKS.get_all(), timeout=120)   # a read timeout is not a finding
        check()


def test_the_task_schema_accepts_what_the_validator_accepts():
    import jsonschema_rs

    from strategies.task import TaskError, task_from_obj
    from strategies.task_schema import task_schema
    valid = jsonschema_rs.validator_for(task_schema()).is_valid
    cases = [({"train": [{"input": [[1, 2]], "output": [[2, 1]]}], "test": [{"input": [[3, 4]]}], "uuid": 1}, True),
             ({"train": [{"input": "a", "output": "A"}], "test": [{"input": "b", "output": None}], "name": 7}, True),
             ({"train": [{"input": [[1, 2], [3]], "output": [[1]]}], "test": [{"input": [[1]]}]}, False),
             ({"train": [{"input": "a", "output": [[1]]}], "test": [{"input": "b"}]}, False),
             ({"train": [{"input": " \x1f", "output": "x"}], "test": [{"input": "b"}]}, False),
             ({"train": [{"input": [[10]], "output": [[1]]}], "test": [{"input": [[1]]}]}, False),
             ({"train": [], "test": [{"input": "b"}]}, False)]
    for task, ok in cases:
        assert valid(task) is ok, task
        try:
            task_from_obj(task)
            accepted = True
        except TaskError:
            accepted = False
        assert accepted is ok, task
