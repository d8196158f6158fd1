"""Failure notifications: one compact message per failed task, in its log and on Slack.

``dw.dag_factory.default_args`` sets ``on_failure_callback=dw.notify.task_failed`` on every task,
so it runs once a task has failed for good (after its retries), in the task's own process: what
it logs lands in the task's log. The message::

    dw-etl FAILED warehouse › migrate › date 2024-01-15 (try 1)
    error: connection postgres_dw (postgres@127.0.0.1:5432/warehouse) is misconfigured: ...
    log: http://localhost:8080/dags/warehouse/runs/<run id>/tasks/migrate?try_number=1
    runbook: http://localhost:8080/dags/warehouse/tasks/migrate (the task's Documentation)

If a Slack incoming-webhook connection ``slack_alerts`` exists it is also posted there, with a
plain HTTPS POST (no Slack SDK): the connection follows the Slack provider's ``slackwebhook``
convention — the password is the webhook URL, or its path ``T000/B000/XXX`` under the host
(default ``hooks.slack.com/services``) and schema (default ``https``). A failed post is logged
and never fails anything; the webhook URL (a secret) is never logged.

``changes_seen`` is the warning of a task that succeeded but saw upstream changes (new fields,
new enumerated values, records quarantined: ``dw.contracts``): one message naming each change
and where to look, in the task's log and on the same Slack connection.

Parse-time cost: the standard library only.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from urllib.parse import quote

log = logging.getLogger(__name__)

SLACK_CONN_ID = "slack_alerts"
MARK = "dw-etl FAILED"
WARN_MARK = "dw-etl WARNING"
MAX_ERROR = 400


def error_line(exc: BaseException | str | None) -> str:
    """The error's first line, cut to ``MAX_ERROR`` characters (its type if it has no text)."""
    if exc is None:
        return "unknown error (see the log)"
    text = str(exc).strip() or type(exc).__name__
    first = text.splitlines()[0]
    more = first != text
    if len(first) > MAX_ERROR:
        first, more = first[: MAX_ERROR - 1], True
    return first + (" …" if more else "")


def runbook_url(base_url: str, dag_id: str, task_id: str) -> str:
    """The task's page in the UI, whose *Documentation* button shows its runbook (doc_md)."""
    return f"{base_url.rstrip('/')}/dags/{quote(dag_id)}/tasks/{quote(task_id)}"


def failure_message(*, dag_id: str, task_id: str, date: str, error: str, log_url: str, runbook: str,
                    try_number: int | None = None) -> str:
    tries = f" (try {try_number})" if try_number else ""
    return (f"{MARK} {dag_id} › {task_id} › date {date}{tries}\n"
            f"error: {error}\n"
            f"log: {log_url}\n"
            f"runbook: {runbook}")


def _base_url() -> str:
    from airflow.sdk.configuration import conf

    return conf.get("api", "base_url", fallback=None) or "http://localhost:8080"


def message_from_context(context) -> str:
    """The failure message of the task whose callback ``context`` this is."""
    ti = context["ti"]
    start = context.get("data_interval_start")
    if start is not None:
        from dw.lake import run_date

        date = run_date(context)
    else:
        date = str(context.get("logical_date") or context.get("run_id") or "?")
    return failure_message(
        dag_id=ti.dag_id, task_id=ti.task_id, date=date, error=error_line(context.get("exception")),
        log_url=ti.log_url, runbook=runbook_url(_base_url(), ti.dag_id, ti.task_id),
        try_number=getattr(ti, "try_number", None),
    )


def slack_webhook_url(conn) -> str:
    """The webhook URL of a ``slackwebhook`` connection (the Slack provider's rules)."""
    token = (conn.password or "").strip()
    if not token:
        raise ValueError(f"connection {conn.conn_id}: the password must hold the Slack webhook URL or its path")
    if token.startswith(("http://", "https://")):
        return token
    host = (conn.host or "hooks.slack.com/services").strip().rstrip("/")
    if "://" not in host:
        netloc, _, path = host.partition("/")
        if conn.port:
            netloc = f"{netloc}:{conn.port}"
        host = f"{conn.schema or 'https'}://{netloc}" + (f"/{path}" if path else "")
    return f"{host}/{token.lstrip('/')}"


def post_to_slack(text: str, conn_id: str = SLACK_CONN_ID, timeout: float = 10.0) -> bool:
    """POST ``{"text": text}`` to the webhook of ``conn_id``; False when there is no such
    connection or the post failed (logged, without the URL)."""
    from airflow.sdk import BaseHook

    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception:  # noqa: BLE001 - not defined (or not readable): nothing to post to
        log.info("no Slack webhook connection %s: the message is in this log only", conn_id)
        return False
    try:
        req = urllib.request.Request(slack_webhook_url(conn), data=json.dumps({"text": text}).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=timeout) as r:
            r.read()
    except Exception as e:  # noqa: BLE001 - a notification must never fail the callback
        reason = getattr(e, "code", None) or getattr(e, "reason", None) or type(e).__name__
        log.warning("could not post the message to Slack (connection %s): %s", conn_id, reason)
        return False
    log.info("message posted to Slack (connection %s)", conn_id)
    return True


def task_failed(context) -> None:
    """``on_failure_callback`` of every task: log the message, post it to Slack if configured."""
    try:
        text = message_from_context(context)
    except Exception as e:  # noqa: BLE001 - never hide the task's own failure behind ours
        log.warning("could not build the failure message: %s", e)
        return
    log.error("%s", text)
    post_to_slack(text)


def changes_message(*, dag_id: str, task_id: str, date: str, changes, where: str) -> str:
    """The warning for ``changes`` (``dw.contracts.Change``) seen by a task that succeeded."""
    lines = [f"{WARN_MARK} {dag_id} › {task_id} › date {date}: {len(changes)} upstream change(s)"]
    lines += [f"- {c.describe()}" for c in changes]
    lines.append(f"where to look: {where}")
    return "\n".join(lines)


def changes_seen(context, changes, where: str = "dw.schema_changes") -> str | None:
    """Log (as a warning) and post to Slack the message naming ``changes`` of the task whose
    ``context`` this is; nothing when there are none. Returns the message. Never raises."""
    if not changes:
        return None
    try:
        ti = context["ti"]
        from dw.lake import run_date

        text = changes_message(dag_id=ti.dag_id, task_id=ti.task_id, date=str(run_date(context)), changes=changes,
                               where=where)
    except Exception as e:  # noqa: BLE001 - a notification must never fail the task
        log.warning("could not build the upstream-change message: %s", e)
        return None
    log.warning("%s", text)
    post_to_slack(text)
    return text
