"""The Athena engine: a failed query that Athena marks retryable (AthenaError.Retryable, e.g.
throttling) raises a plain error, so the task's retries run it again; any other failure is a
LakeQueryError (the operator fails it without retries). No server: the hook's calls are stubbed."""

from __future__ import annotations

import pytest


def engine(retryable: bool):
    from dw.hooks.athena import AthenaEngine

    e = object.__new__(AthenaEngine)
    e.check_query_status = lambda qid, use_cache=False: "FAILED"
    e.get_state_change_reason = lambda qid, use_cache=False: "Rate exceeded"
    e.get_query_info = lambda qid, use_cache=False: {"QueryExecution": {"Status": {"AthenaError": {
        "ErrorCategory": 2, "ErrorType": 1100, "Retryable": retryable}}}}
    return e


def test_retryable_athena_failure_is_retried_and_others_are_not():
    from dw.lake_sql import LakeQueryError

    event = {"status": "failure", "value": "q-1", "message": "failed"}
    with pytest.raises(RuntimeError, match="retryable") as err:
        engine(True).complete(event, label="dw.job_ran_fact extract dt=2024-01-15")
    assert not isinstance(err.value, LakeQueryError)
    with pytest.raises(LakeQueryError, match="q-1 ended FAILED: Rate exceeded"):
        engine(False).complete(event)
