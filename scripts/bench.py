"""`make bench`: casesvc against two bare-Flask ceilings, in one run.

Starts the production `casesvc serve` at its defaults (granian) on fresh SQLite databases, and
a bare Flask app returning a constant small JSON on gunicorn (2 sync workers: the reference
the targets use) and on granian (2 workers, casesvc's settings). It seeds data by bulk insert,
drives each scenario with wrk, and reports req/s, p50 and p99 as ratios to both ceilings.
Ceiling runs alternate with scenario runs (each scenario is compared with the mean of the
ceiling runs just before and after it), so drift on a noisy machine cancels out. One more
server, with `--access-log` to a file, measures what the access log costs. It reports; it
asserts nothing. Results go to docs/performance.json and the table in docs/performance.md.

    python -m scripts.bench [--duration 10] [--rows-large 1000000]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from casesvc.config import DEFAULT_THREADS
from casesvc.serving import default_workers
from devtools.servers import free_port, started

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
WORKERS = 2
WRK_THREADS = 2
WRK_CONNECTIONS = 16
# Long thresholds keep a case created now `submitted` for the whole run, so the
# "submitted" scenario measures what it says; a complete case is dated far in the past.
LONG = {"CASESVC_PROCESSING_AFTER": "1000000", "CASESVC_COMPLETE_AFTER": "2000000"}
CEILINGS = ("gunicorn", "granian")
# Lowest req/s ratio wanted, per scenario, to each ceiling (issue 12).
TARGETS = {
    "get_submitted": {"gunicorn": 1.3, "granian": 0.5},
    "get_complete": {"gunicorn": 1.3, "granian": 0.5},
    "get_304": {"gunicorn": 1.3, "granian": 0.5},
    "post": {"gunicorn": 0.65},
}
# Scenarios run again on the server with --access-log; the cost is the req/s lost.
ACCESS_LOGGED = ("get_submitted", "post")
# Scenarios run again on a server with metrics (CASESVC_METRICS=1): what /metrics costs.
METERED = ("get_submitted", "get_complete")


def casesvc_server(
    db_url: str,
    port: int,
    *extra: str,
    log: Path | None = None,
    env_extra: dict[str, str] | None = None,
) -> contextlib.AbstractContextManager:  # type: ignore[type-arg]
    """`casesvc serve` at its defaults (workers and threads), plus ``extra`` options."""
    env = dict(os.environ, DATABASE_URL=db_url, **LONG, **(env_extra or {}))
    cmd = [sys.executable, "-m", "casesvc", "serve", "--host", "127.0.0.1", "--port", str(port)]
    return started([*cmd, *extra], f"http://127.0.0.1:{port}/openapi.json", env=env, log=log)


def ceiling_server(
    server: str, port: int, workers: int = WORKERS, env: dict[str, str] | None = None
) -> contextlib.AbstractContextManager:  # type: ignore[type-arg]
    cmd = [sys.executable, "-m", "scripts.ceiling", server, str(port), str(workers)]
    return started(cmd, f"http://127.0.0.1:{port}/", env=env)


CLIENTS = 10
CLIENT_NAMES = ["default", *(f"clinic-{n}" for n in range(1, CLIENTS))]


def seed(db_url: str, rows: int) -> list[str]:
    """Bulk-insert ``rows`` cases, spread over the last ``rows`` seconds of a 2,000,000 s
    lifecycle (so statuses vary) and over ``CLIENTS`` clients in turn, one of them the default
    client the tokenless server lists for (so every list runs the client filter, over a
    tenth of the rows); returns the ids of a submitted and a complete case."""
    from casesvc.bootstrap import build_service, prepare_database
    from casesvc.config import Config
    from casesvc.models import Case

    config = Config(
        database_url=db_url,
        processing_after=1_000_000,
        complete_after=2_000_000,
        auto_upgrade=True,
    )
    prepare_database(config)
    service = build_service(config)
    now = dt.datetime.now(dt.UTC)
    keys = service.catalog.keys
    with service.database.connection_context(), Case.bind_ctx(service.database):
        batch: list[dict[str, object]] = []
        with service.database.atomic():
            for i in range(rows):
                at = now - dt.timedelta(seconds=3_000_000 * i / rows)
                sample = service.catalog[keys[i % len(keys)]]
                timeline = service.lifecycle.timeline(at, sample)  # as create() writes it
                batch.append(
                    {
                        "id": f"case_{i + 1:024x}",
                        "created_at": at,
                        "timeline_started_at": at,
                        "processing_at": timeline.processing_at,
                        "complete_at": timeline.complete_at,
                        "status": "submitted",
                        "determination": sample.key,
                        "client": CLIENT_NAMES[i % len(CLIENT_NAMES)],
                    }
                )
                if len(batch) == 5000:
                    Case.insert_many(batch).execute()
                    batch = []
            if batch:
                Case.insert_many(batch).execute()
        submitted = service.create().case_id
        complete = service.create().case_id
        service.advance(complete, by=dt.timedelta(days=365))
        service.database.execute_sql("ANALYZE")
    return [submitted, complete]


LATENCY = re.compile(r"^\s+(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s)\s*$", re.M)


def wrk(url: str, duration: int, script: str | None = None) -> dict[str, float]:
    cmd = ["wrk", f"-t{WRK_THREADS}", f"-c{WRK_CONNECTIONS}", f"-d{duration}s", "--latency"]
    if script:
        cmd += ["-s", script]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    lat = {}
    for pct, value, unit in LATENCY.findall(out):
        lat[pct] = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": rps,
        "p50_ms": lat["50"],
        "p99_ms": lat["99"],
        "non_2xx_3xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(1).strip() if errors else "",
    }  # type: ignore[dict-item]


def lua(tmp: Path, name: str, body: str) -> str:
    path = tmp / f"{name}.lua"
    path.write_text(body)
    return str(path)


def peak_rss_mb(master_pid: int) -> list[float]:
    """Peak resident memory (VmHWM) of each child (worker) of a server's main process."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid != master_pid:
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    found.append(int(line.split()[1]) / 1024)
        except (OSError, ValueError, IndexError):
            continue
    return found


def machine() -> dict[str, str]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "wrk": (wrk_version.stdout or wrk_version.stderr).split(" [")[0],
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--rows-small", type=int, default=10_000)
    parser.add_argument("--rows-large", type=int, default=1_000_000)
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--only", nargs="+", metavar="SCENARIO", help="run just these (no write)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install -y wrk (make bench installs it)")

    tmp = Path(tempfile.mkdtemp(prefix="casesvc-bench-"))
    small, large = f"sqlite:///{tmp}/small.db", f"sqlite:///{tmp}/large.db"
    print(f"seeding {args.rows_small:,} and {args.rows_large:,} rows …", flush=True)
    t = time.monotonic()
    submitted, complete = seed(small, args.rows_small)
    seed(large, args.rows_large if not args.only or "list_1m" in args.only else 1)
    print(f"seeded in {time.monotonic() - t:.0f} s", flush=True)

    p_small, p_large, p_logged, p_metered = free_port(), free_port(), free_port(), free_port()
    base, big = f"http://127.0.0.1:{p_small}", f"http://127.0.0.1:{p_large}"
    logged, metered = f"http://127.0.0.1:{p_logged}", f"http://127.0.0.1:{p_metered}"
    ceiling_ports = {name: free_port() for name in CEILINGS}
    results: dict[str, dict[str, object]] = {}
    with (
        casesvc_server(small, p_small) as svc_proc,
        casesvc_server(large, p_large) as big_proc,
        casesvc_server(small, p_logged, "--access-log", log=tmp / "access.log"),
        casesvc_server(small, p_metered, env_extra={"CASESVC_METRICS": "1"}),
        ceiling_server("gunicorn", ceiling_ports["gunicorn"]),
        ceiling_server("granian", ceiling_ports["granian"]),
    ):
        etag = urllib.request.urlopen(f"{base}/cases/{submitted}").headers["ETag"]
        post = lua(tmp, "post", 'wrk.method = "POST"\n')
        scenarios: list[tuple[str, str, str | None]] = [
            ("get_submitted", f"{base}/cases/{submitted}", None),
            ("get_complete", f"{base}/cases/{complete}", None),
            (
                "get_304",
                f"{base}/cases/{submitted}",
                lua(tmp, "etag", f"wrk.headers['If-None-Match'] = '{etag}'\n"),
            ),
            ("post", f"{base}/cases", post),
            ("get_submitted_access_log", f"{logged}/cases/{submitted}", None),
            ("post_access_log", f"{logged}/cases", post),
            ("get_submitted_metrics", f"{metered}/cases/{submitted}", None),
            ("get_complete_metrics", f"{metered}/cases/{complete}", None),
            ("list_10k", f"{base}/cases?page_size=50", None),
            ("list_10k_status", f"{base}/cases?page_size=50&status=submitted", None),
            ("list_1m", f"{big}/cases?page_size=50", None),
            ("list_1m_status", f"{big}/cases?page_size=50&status=submitted", None),
            (
                "mixed",
                base,
                lua(
                    tmp,
                    "mixed",
                    f"""
math.randomseed(42)
local paths = {{"/cases/{submitted}", "/cases/{complete}", "/cases?page_size=50"}}
request = function()
  local r = math.random(10)
  if r <= 2 then return wrk.format("POST", "/cases") end
  return wrk.format("GET", paths[(r % 3) + 1])
end
""",
                ),
            ),
        ]
        ceiling_urls = {name: f"http://127.0.0.1:{port}/" for name, port in ceiling_ports.items()}

        def ceilings() -> dict[str, dict[str, float]]:
            return {name: wrk(url, args.duration) for name, url in ceiling_urls.items()}

        for url in ceiling_urls.values():
            wrk(url, 2)  # warm-up
        before = ceilings()
        if args.only:
            scenarios = [s for s in scenarios if s[0] in args.only]
        for name, url, script in scenarios:
            wrk(url, 1, script)  # warm-up
            measured = wrk(url, args.duration, script)
            after = ceilings()
            results[name] = {**measured, "ceilings": {}}
            for server in CEILINGS:
                ceiling = {
                    k: statistics.mean([before[server][k], after[server][k]])  # type: ignore[type-var]
                    for k in ("rps", "p50_ms", "p99_ms")
                }
                results[name]["ceilings"][server] = {  # type: ignore[index]
                    **ceiling,
                    "rps_ratio": measured["rps"] / ceiling["rps"],
                    "p50_ratio": measured["p50_ms"] / ceiling["p50_ms"],
                    "p99_ratio": measured["p99_ms"] / ceiling["p99_ms"],
                }
            ratios = "  ".join(
                f"x{results[name]['ceilings'][s]['rps_ratio']:.2f} {s}"  # type: ignore[index]
                for s in CEILINGS
            )
            print(
                f"{name:<26} {measured['rps']:>8.0f} req/s  {ratios}"
                f"  p50 {measured['p50_ms']:.2f} ms  p99 {measured['p99_ms']:.2f} ms",
                flush=True,
            )
            before = after
        rss = peak_rss_mb(svc_proc.pid) + peak_rss_mb(big_proc.pid)

    if postgres_url := os.environ.get("CASESVC_TEST_DATABASE_URL"):
        results.update(postgres_scenarios(postgres_url, args.duration, tmp, args.only))
    if args.only:
        return
    summary = {
        "machine": machine(),
        "command": "make bench",
        "settings": {
            "server": "casesvc serve at its defaults (granian, "
            f"{default_workers(os.cpu_count())} workers, {DEFAULT_THREADS} threads each)",
            "ceilings": {
                "gunicorn": f"bare Flask on gunicorn, {WORKERS} sync workers",
                "granian": f"bare Flask on granian, {WORKERS} workers, casesvc's settings",
            },
            "wrk": f"-t{WRK_THREADS} -c{WRK_CONNECTIONS} -d{args.duration}s",
            "rows": [args.rows_small, args.rows_large],
            "clients": CLIENTS,
        },
        "scenarios": results,
        "access_log_cost": {
            name: 1 - results[f"{name}_access_log"]["rps"] / results[name]["rps"]  # type: ignore[operator]
            for name in ACCESS_LOGGED
        },
        "metrics_cost": {
            name: 1 - results[f"{name}_metrics"]["rps"] / results[name]["rps"]  # type: ignore[operator]
            for name in METERED
        },
        "list_p50_1m_over_10k": results["list_1m"]["p50_ms"] / results["list_10k"]["p50_ms"],  # type: ignore[operator]
        "list_status_p50_1m_over_10k": results["list_1m_status"]["p50_ms"]  # type: ignore[operator]
        / results["list_10k_status"]["p50_ms"],
        "peak_rss_per_worker_mb": max(rss) if rss else None,
    }
    table = markdown(summary)
    print()
    print(table)
    if not args.no_write:
        (DOCS / "performance.json").write_text(json.dumps(summary, indent=2) + "\n")
        write_table(table)
    shutil.rmtree(tmp, ignore_errors=True)


# Scenarios on PostgreSQL, each against bare Flask running the same statement with the same
# driver on the same server (scripts/ceiling.py, granian-pg), both at casesvc's worker count.
POSTGRES = ("pg_get", "pg_post")


def postgres_scenarios(
    url: str, duration: int, tmp: Path, only: list[str] | None
) -> dict[str, dict[str, object]]:
    """One node at its defaults on PostgreSQL (``make bench`` runs under scripts/with-postgres),
    GET and POST, alternating with the PostgreSQL ceiling."""
    if only and not set(only) & set(POSTGRES):
        return {}
    submitted, _ = seed(url, 10_000)
    node, ceiling = free_port(), free_port()
    workers = default_workers(os.cpu_count())
    env = dict(os.environ, DATABASE_URL=url)
    post = lua(tmp, "post", 'wrk.method = "POST"\n')
    paths = {"pg_get": (f"/cases/{submitted}", None), "pg_post": ("/cases", post)}
    results: dict[str, dict[str, object]] = {}
    with (
        casesvc_server(url, node),
        ceiling_server("granian-pg", ceiling, workers, env=env),
    ):
        for name in [n for n in POSTGRES if not only or n in only]:
            path, script = paths[name]
            wrk(f"http://127.0.0.1:{ceiling}{path}", 1, script)  # warm-up
            before = wrk(f"http://127.0.0.1:{ceiling}{path}", duration, script)
            wrk(f"http://127.0.0.1:{node}{path}", 1, script)
            measured = wrk(f"http://127.0.0.1:{node}{path}", duration, script)
            after = wrk(f"http://127.0.0.1:{ceiling}{path}", duration, script)
            ceiling_rps = statistics.mean([before["rps"], after["rps"]])
            results[name] = {**measured, "postgres_ceiling_rps": ceiling_rps}
            results[name]["rps_ratio"] = measured["rps"] / ceiling_rps
            print(
                f"{name:<26} {measured['rps']:>8.0f} req/s  x{measured['rps'] / ceiling_rps:.2f} "
                f"bare Flask + psycopg ({ceiling_rps:.0f})  p50 {measured['p50_ms']:.2f} ms  "
                f"p99 {measured['p99_ms']:.2f} ms",
                flush=True,
            )
    return results


def markdown(summary: dict) -> str:  # type: ignore[type-arg]
    s = summary["scenarios"]
    m = summary["machine"]
    settings = summary["settings"]
    lines = [
        f"Measured {m['date']} on {m['cores']} cores ({m['cpu']}), Python {m['python']}, "
        f"{m['wrk']}; {settings['server']}; wrk {settings['wrk']}. Ceilings: "
        f"{settings['ceilings']['gunicorn']} and {settings['ceilings']['granian']}. "
        f"Command: `{summary['command']}`.",
        "",
        "| scenario | req/s | ÷ Flask on gunicorn | ÷ Flask on granian | p50 ms | p99 ms "
        "| target | met |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    constant = {name: r for name, r in s.items() if "ceilings" in r}
    for name, r in constant.items():
        wanted = TARGETS.get(name, {})
        ratios = {server: r["ceilings"][server]["rps_ratio"] for server in CEILINGS}
        target = ", ".join(f"≥ {v:.2f} ({k})" for k, v in wanted.items())
        met = (
            ""
            if not wanted
            else ("yes" if all(ratios[k] >= v for k, v in wanted.items()) else "**no**")
        )
        lines.append(
            f"| {name} | {r['rps']:.0f} | {ratios['gunicorn']:.2f} | {ratios['granian']:.2f} | "
            f"{r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {target} | {met} |"
        )
    for server in CEILINGS:
        mean = statistics.mean(r["ceilings"][server]["rps"] for r in constant.values())
        lines.append(f"| *ceiling: bare Flask on {server}* | {mean:.0f} | | | | | | |")
    on_postgres = {name: r for name, r in s.items() if name in POSTGRES}
    if on_postgres:
        lines += [
            "",
            "On PostgreSQL (one node at its defaults, under scripts/with-postgres), against bare "
            "Flask running the same statement with psycopg 3 at its defaults on granian, "
            "same workers:",
            "",
            "| scenario | req/s | ÷ bare Flask + psycopg | ceiling req/s | p50 ms | p99 ms |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for name, r in on_postgres.items():
            lines.append(
                f"| {name} | {r['rps']:.0f} | {r['rps_ratio']:.2f} | "
                f"{r['postgres_ceiling_rps']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} |"
            )
    ratio = summary["list_p50_1m_over_10k"]
    ratio_s = summary["list_status_p50_1m_over_10k"]
    rss = summary["peak_rss_per_worker_mb"]
    cost = summary["access_log_cost"]
    metered = summary["metrics_cost"]
    lines += [
        "",
        "- access log (`--access-log`, to a file) costs "
        + ", ".join(f"**{100 * v:.0f}%** of {k} req/s" for k, v in cost.items()),
        "- metrics (`CASESVC_METRICS=1`, off by default) cost "
        + ", ".join(f"**{100 * v:.0f}%** of {k} req/s" for k, v in metered.items())
        + f" (target < 5%: {'met' if max(metered.values()) < 0.05 else 'not met'})",
        f"- list page p50 at 1M rows ÷ at 10k rows, each spread over {settings['clients']} "
        f"clients and listed for one (the client filter): **{ratio:.2f}** without a status "
        f"filter, **{ratio_s:.2f}** with `status=submitted` (target ≤ 1.3: "
        f"{'met' if max(ratio, ratio_s) <= 1.3 else 'not met'})",
        f"- peak RSS per worker: **{rss:.1f} MB** (target ≤ 80 MB: "
        f"{'met' if rss is not None and rss <= 80 else 'not met'})",
    ]
    return "\n".join(lines)


def write_table(table: str) -> None:
    path = DOCS / "performance.md"
    text = (
        path.read_text()
        if path.exists()
        else "# Performance\n\n<!-- bench:start -->\n<!-- bench:end -->\n"
    )
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{start}\n{table}\n{end}{tail}")


if __name__ == "__main__":
    main()
