"""On-call runbooks: the Markdown templates of include/runbooks/ rendered into ``doc_md``.

Every DAG, task group and task gets one. Each answers, in the same order, what an on-call
engineer needs at night: what the piece **reads** and **writes**, whether it is safe to
**clear** and what a clear re-does, what to check **when it fails**, and how to **backfill**; a
task's runbook also says what it **waits for**. The templates (Jinja, ``StrictUndefined``) get
the config objects; what comes from the built DAG is filled in by ``task_runbook``: the task's
upstream tasks (``waits_for``) and the Assets it emits (``assets``). The UI shows a DAG's runbook
under *Dag Docs*, a task's under *Documentation* on the task's page, and a task group's on the
group's page; every failure message links there (``dw.notify``).
"""

from __future__ import annotations

import functools

from dw import paths


@functools.lru_cache(maxsize=1)
def _environment():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(paths.RUNBOOKS_DIR)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(template: str, **values) -> str:
    """``include/runbooks/<template>`` rendered with ``values``."""
    return _environment().get_template(template).render(**values)


def waits_for(task) -> str:
    """The task's upstream tasks, as the runbook names them."""
    upstream = sorted(task.upstream_task_ids)
    if not upstream:
        return "nothing: it starts when the run starts."
    return ", ".join(f"`{t}`" for t in upstream) + "."


def assets(task) -> str:
    """The Assets the task emits, as the runbook names them."""
    names = [getattr(a, "name", None) or str(a) for a in (task.outlets or [])]
    return ", ".join(f"`{n}`" for n in names) or "none"


def task_runbook(task, template: str, **values) -> str:
    """A task's runbook, once its DAG is wired (its upstream tasks are known)."""
    return render(template, waits_for=waits_for(task), assets=assets(task), **values)


def document_tasks(docs: list[tuple[object, str, dict]]) -> None:
    """Set ``doc_md`` of each ``(task, template, values)``; call it once the DAG is wired."""
    for task, template, values in docs:
        task.doc_md = task_runbook(task, template, **values)
