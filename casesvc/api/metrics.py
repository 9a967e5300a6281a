"""``/metrics``: Prometheus counters for whoever runs casesvc.

Requests are counted by route template (``/cases/<case_id>``, never the raw path, so the label
set stays small and holds no case id), method and status code; latency is a histogram per
route and method; and ``casesvc_cases_created_total`` counts cases created through the API
(an idempotent replay creates nothing, so it does not count).

Across worker processes the counts add up through prometheus_client's multiprocess mode:
``casesvc serve`` gives every run a fresh, empty ``PROMETHEUS_MULTIPROC_DIR`` before its
workers start, each worker writes its own files there, and ``/metrics`` merges them. The
library picks its storage when it is first imported, so this module imports it only inside
``Metrics``, which each worker builds after that directory is set.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, request
from flask.views import MethodView
from flask_smorest import Blueprint
from werkzeug.exceptions import NotFound

from casesvc.api import current_parts
from casesvc.schemas import ApiErrorSchema

blp = Blueprint(
    "metrics",
    __name__,
    url_prefix="/metrics",
    description="Prometheus metrics: requests, latency and cases created, across all workers.",
)

# Seconds: the API answers in well under a millisecond in-process, so the buckets start low.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
UNMATCHED = "unmatched"  # the route label of a request no URL rule matched (a 404 or 405)


class Metrics:
    """The app's metrics, in their own registry (or the multiprocess files)."""

    def __init__(self, multiprocess_dir: Path | None) -> None:
        import prometheus_client as prom
        from prometheus_client import multiprocess

        self.registry = prom.CollectorRegistry()
        self.content_type = prom.CONTENT_TYPE_LATEST
        self._generate = prom.generate_latest
        target: Any = self.registry
        if multiprocess_dir is not None:
            # Values live in files shared by every worker; /metrics reads them all back.
            multiprocess.MultiProcessCollector(self.registry, path=str(multiprocess_dir))
            target = None
        self.requests = prom.Counter(
            "casesvc_http_requests",
            "HTTP requests answered, by route template, method and status code.",
            ["route", "method", "status"],
            registry=target,
        )
        self.latency = prom.Histogram(
            "casesvc_http_request_duration_seconds",
            "Time from the request reaching the app to its response, by route and method.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=target,
        )
        self.cases_created = prom.Counter(
            "casesvc_cases_created", "Cases created through the API.", registry=target
        )
        # Children by label values: prometheus_client's own lookup validates and converts
        # the labels on every call, which costs more than the increment itself.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self.requests.labels(route, method, str(status)),
                self.latency.labels(route, method),
            )
        children[0].inc()
        children[1].observe(seconds)

    def exposition(self) -> bytes:
        return bytes(self._generate(self.registry))


def install(app: Flask, metrics: Metrics) -> None:
    """Time and count every request the app answers, errors included."""
    clock = time.perf_counter  # an interval timer for latency, not the case clock

    @app.before_request
    def _start() -> None:
        g.casesvc_started = clock()

    @app.after_request
    def _count(response: Response) -> Response:
        started = g.get("casesvc_started")
        if started is not None:  # None: a hook before ours answered (it is counted too)
            rule = request.url_rule
            route = rule.rule if rule is not None else UNMATCHED
            metrics.observe(route, request.method, response.status_code, clock() - started)
        return response


@blp.route("")
class MetricsText(MethodView):
    @blp.doc(
        operationId="getMetrics",
        responses={
            "200": {
                "description": "Prometheus text exposition format (version 0.0.4).",
                "headers": {
                    "Cache-Control": {
                        "description": "Always `no-store`.",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                },
                "content": {"text/plain": {"schema": {"type": "string"}}},
            }
        },
    )
    @blp.alt_response(401, response="Unauthorized")
    @blp.alt_response(404, schema=ApiErrorSchema, description="Metrics are off on this server.")
    def get(self) -> Response:
        """Read the metrics

        Counters and histograms summed over every worker of this server. Needs the
        scraper's own bearer token (`CASESVC_METRICS_TOKEN`) when one is set, which it must be
        when the server has API tokens; a client's token is refused here.
        """
        metrics = current_parts().metrics
        if metrics is None:
            raise NotFound("Metrics are off on this server (CASESVC_METRICS=1 turns them on).")
        return Response(
            metrics.exposition(),
            200,
            {"Cache-Control": "no-store"},
            content_type=metrics.content_type,
        )
