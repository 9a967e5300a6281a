"""What the ``casesvc`` command prints: case JSON as the API sends it, tables, durations in
words, the readable case for ``show`` and the live view for ``watch``. The commands in
casesvc/cli/ only call these."""

from __future__ import annotations

import datetime as dt
import json
import math
import sys
import textwrap
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import click

from casesvc.determinations import Determination
from casesvc.lifecycle import ORDER, STAGES, Status
from casesvc.representation import document
from casesvc.schemas import CaseListItemSchema, CaseSchema
from casesvc.service import CaseSnapshot

WRAP = 88
# The first stages that show the summary, and the steps with the verdict (lifecycle.STAGES).
SUMMARY_FROM = next(status for status in ORDER if STAGES[status].shows_summary)
STEPS_FROM = next(status for status in ORDER if STAGES[status].shows_steps)


def case_json(case: CaseSnapshot) -> str:
    """The case exactly as ``GET /cases/{case_id}`` sends it at this instant, indented."""
    return dump_json(CaseSchema().dump(document(case)))


def cases_json(cases: Iterable[CaseSnapshot]) -> str:
    """A JSON array of the list's basic view."""
    docs = [document(case, full=False) for case in cases]
    return dump_json(CaseListItemSchema(many=True).dump(docs))


def dump_json(value: Any) -> str:
    return json.dumps(value, indent=2)


def samples_table(samples: Iterable[Determination]) -> str:
    """``casesvc samples``: each sample's key, procedure, verdict and own timing."""
    rows = [("KEY", "PROCEDURE", "MET", "REVIEW (TIMED)")]
    for sample in samples:
        timing = sample.review_seconds
        rows.append(
            (
                sample.key,
                sample.procedure_name,
                "yes" if sample.is_met else "no",
                "configured" if timing is None else f"{timing[0]:g} s / {timing[1]:g} s",
            )
        )
    return table(rows)


def samples_json(samples: Iterable[Determination]) -> str:
    return dump_json(
        [
            {
                "key": sample.key,
                "procedure_name": sample.procedure_name,
                "is_met": sample.is_met,
                "review_seconds": None
                if sample.review_seconds is None
                else dict(zip(("processing", "complete"), sample.review_seconds, strict=True)),
            }
            for sample in samples
        ]
    )


def duration(delta: dt.timedelta) -> str:
    """A span as the web UI shows it, in whole seconds (floored), at most two units:
    ``45 s``, ``3 min 05 s``, ``2 h 04 min``, ``11,574 d 1 h``."""
    whole = math.floor(delta.total_seconds())
    sign, s = ("-", -whole) if whole < 0 else ("", whole)
    m, h, d = s // 60, s // 3600, s // 86400
    if s < 60:
        text = f"{s} s"
    elif m < 60:
        text = f"{m} min {s % 60:02d} s"
    elif h < 24:
        text = f"{h} h {m % 60:02d} min"
    else:
        text = f"{d:,} d {h % 24} h"
    return sign + text


class Duration(click.ParamType):
    """A span of time: seconds (``90``, ``1.5``), or a number with a unit: ``90s``, ``5m``,
    ``2h``, ``1d``."""

    name = "duration"
    UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, dt.timedelta):
            return value
        text = str(value).strip().lower()
        scale = self.UNITS.get(text[-1:], None)
        number = text[:-1] if scale is not None else text
        try:
            seconds = float(number) * (scale or 1)
        except ValueError:
            self.fail(
                f"{value!r} is not a duration: give seconds, or a number with a unit "
                "(90s, 5m, 2h, 1d)",
                param,
                ctx,
            )
        if not math.isfinite(seconds):
            self.fail("must be a finite number of seconds", param, ctx)
        try:
            return dt.timedelta(seconds=seconds)
        except OverflowError:  # named, as a value that is not a duration is
            self.fail(f"{value!r} is too large", param, ctx)


def table(rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell, two spaces apart."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


CASE_TABLE_HEADER = ("ID", "CLIENT", "CREATED (UTC)", "STATUS", "AGE", "PROCEDURE", "MET")


def case_table(cases: Sequence[CaseSnapshot]) -> str:
    """The ``list`` table: id, client, creation time, status, age, procedure, criteria met."""
    rows: list[Sequence[str]] = [CASE_TABLE_HEADER]
    rows += [
        (
            case.case_id,
            case.client,
            f"{case.created_at:%Y-%m-%d %H:%M:%S}",
            case.status.value,
            duration(case.age),
            case.determination.procedure_name,
            met(case),
        )
        for case in cases
    ]
    return table(rows) if cases else table(rows) + "\n(no cases)"


def advanced(case: CaseSnapshot) -> str:
    """One line per fast-forwarded case."""
    return (
        f"{case.case_id}  {case.status.value:<10}  age {duration(case.age)}"
        f"  (fast-forwarded {duration(case.fast_forwarded_by)} in all)"
    )


def met(case: CaseSnapshot) -> str:
    if not STAGES[case.status].shows_steps:
        return "-"
    return "yes" if case.determination.is_met else "no"


def next_stage(case: CaseSnapshot) -> str:
    """When the case's next stage begins, as the lifecycle scheduled it."""
    following = case.status.next
    if following is None:
        return "none: the review is complete"
    if case.retry_after is None:
        return f"{following} when moved on (casesvc advance --to {following})"
    return f"{following} in {case.retry_after} s"


def describe(case: CaseSnapshot) -> str:
    """The readable view of a case for ``show``."""
    d = case.determination
    length = case.timeline.length
    age = duration(case.age)
    if case.last_advanced_at is None:
        forwarded = "no"
    else:
        last = f"{case.last_advanced_at:%Y-%m-%d %H:%M:%S} UTC"
        forwarded = f"{duration(case.fast_forwarded_by)}, last at {last}"
    fields = [
        ("client", case.client),
        ("status", case.status.value),
        ("age", age if length is None else f"{age} of the {duration(length)} review"),
        ("created", f"{case.created_at:%Y-%m-%d %H:%M:%S} UTC"),
        ("next stage", next_stage(case)),
        ("fast-forwarded", forwarded),
        ("procedure", d.procedure_name),
        ("CPT codes", ", ".join(d.cpt_codes)),
        ("criteria met", {"-": f"not decided until {STEPS_FROM}"}.get(met(case), met(case))),
    ]
    doc = document(case)
    lines = [case.case_id, *(f"  {name:<15} {value}" for name, value in fields)]
    summary = doc["summary"] or f"appears once the case is {SUMMARY_FROM}"
    lines.append(wrap(summary, first="  summary         ", rest=" " * 18))
    if not doc["steps"]:
        lines.append(f"  steps           appear once the case is {STEPS_FROM}")
        return "\n".join(lines)
    lines += ["", f"steps ({len(doc['steps'])})"]
    for step in doc["steps"]:
        lines += describe_step(step)
    return "\n".join(lines)


def describe_step(step: dict[str, Any]) -> list[str]:
    verdict = "met" if step["is_met"] else "not met"
    lines = [
        wrap(step["question"], first=f"  {step['key']:>2}. ", rest=" " * 6),
        f"      decision: {step['decision']} ({verdict}) -> next {step['next_step']}",
    ]
    for option in step["options"]:
        if option["selected"]:
            lines.append(wrap(option["text"], first=f"        {option['key']}. ", rest=" " * 11))
    return lines


def wrap(text: str, *, first: str, rest: str) -> str:
    return textwrap.fill(
        " ".join(text.split()), width=WRAP, initial_indent=first, subsequent_indent=rest
    )


def status_line(case: CaseSnapshot, now: dt.datetime) -> str:
    stage = STAGES[case.status]
    verdict = f"criteria {'met' if case.determination.is_met else 'not met'}"
    detail = verdict if stage.shows_steps else stage.progress
    return f"{now:%H:%M:%S}  {case.status.value:<10}  at {duration(case.age)}  {detail}"


def follow(
    read: Callable[[], CaseSnapshot],
    now: Callable[[], dt.datetime],
    wait: Callable[[], None],
    on_status: Callable[[Status], None],
) -> None:
    """``watch``'s loop: a line at each status change until the case is complete, and a
    progress bar over the review when its length is scheduled. ``read`` reads the case,
    ``wait`` waits between reads."""
    case = read()
    length = case.timeline.length  # None: nothing scheduled (the manual lifecycle), no bar
    total = None if length is None else length.total_seconds()
    status: Status | None = None
    bar = ProgressBar(f"watching {case.case_id}", live=interactive() and total is not None)
    while True:
        if case.status is not status:
            status = case.status
            on_status(status)
            bar.line_above(status_line(case, now()))
        if total is not None:
            age = case.age.total_seconds()
            info = f"{math.floor(min(age, total))}/{total:g} s {status}"
            bar.show(min(age / total, 1.0) if total else 1.0, info)
        if status is ORDER[-1]:
            bar.finish()
            return
        wait()
        case = read()


def interactive() -> bool:
    """Whether stdout is a terminal, where ``watch`` draws its progress bar."""
    return sys.stdout.isatty()


class ProgressBar:
    """``watch``'s bar on the last line of a terminal, drawn as Click draws its own
    (``label  [####----]  info``), with lines printed above it. Off a terminal, only the
    label once and the lines."""

    WIDTH = 36

    def __init__(self, label: str, *, live: bool) -> None:
        self.label, self.live = label, live
        self._drawn = f"{label}  [{'-' * self.WIDTH}]"
        if live:
            click.echo(self._drawn, nl=False)
        else:
            click.echo(label)

    def show(self, fraction: float, info: str) -> None:
        filled = round(self.WIDTH * fraction)
        line = f"{self.label}  [{'#' * filled}{'-' * (self.WIDTH - filled)}]  {info}"
        if self.live and line != self._drawn:
            click.echo("\r\x1b[2K" + line, nl=False)
        self._drawn = line

    def line_above(self, text: str) -> None:
        if self.live:  # over the bar, then the bar again below it
            click.echo("\r\x1b[2K" + text + "\n" + self._drawn, nl=False)
        else:
            click.echo(text)

    def finish(self) -> None:
        if self.live:
            click.echo()
