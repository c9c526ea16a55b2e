"""``kiln chaos``: Kiln's scenarios run clean, then under faults, with the figures that show that
nothing was lost, nothing doubled and the final state was the same.

Each scenario (bundled ones by name, or scenario files: see
:mod:`services.testbed.chaos.scenarios`) is run once with no fault, one ``kiln run`` process per
service: its normalised final state is the reference. It is then run again, several workers per
service, while worker processes are SIGKILLed at random moments, the broker closes the run's
connections and a channel, a fifth of the Kubernetes API requests fail (500, 429, timeouts), the
registry is down for a while, and events of the run are published twice; with
``--broker-restart``, one scenario also has the broker stopped and started (``rabbitmqctl
stop_app``/``start_app``: every client of that broker feels it — never on a shared broker).
Then bad inputs are tried (events into the queues, Images through the API, webhooks).

Exit codes: 0 nothing lost, doubled, unequal or unhandled; 1 otherwise (or a scenario file that
cannot be read); 2 usage errors. Progress goes to stderr; stdout gets the table or one JSON
object (``--output json``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from services.cli import common
from services.testbed.chaos import campaign, figures, injecting, scenarios

logger = logging.getLogger(__name__)
QUICK_SCENARIOS = ("pushes-and-trigger",)
"""``--quick``: the scenario with every kind of input but a builder update."""
QUICK = injecting.Plan(
    kills=2,
    connection_closes=1,
    channel_breaks=1,
    registry_outages=1,
    duplicate_rounds=1,
    api_fault_rate=0.2,
)
FULL = injecting.Plan(
    kills=4,
    connection_closes=2,
    channel_breaks=2,
    registry_outages=2,
    duplicate_rounds=2,
    api_fault_rate=0.2,
)
BROKER_RESTART_SCENARIO = "pushes-and-trigger"


def register(app: typer.Typer) -> None:
    app.command("chaos")(chaos)


def chaos(
    scenario: Annotated[
        list[str] | None,
        typer.Argument(help="bundled scenario names or scenario files (.jsonl); default: every bundled one"),
    ] = None,
    quick: Annotated[
        bool, typer.Option(help=f"a reduced set for CI: {', '.join(QUICK_SCENARIOS)}, fewer faults")
    ] = False,
    seed: Annotated[int, typer.Option(help="seeds the fault moments and choices: a run is reproducible")] = 0,
    workers: Annotated[
        int, typer.Option(min=1, max=4, help="processes of each service under faults (one bridge)")
    ] = 2,
    broker_restart: Annotated[
        bool | None,
        typer.Option(
            help=f"stop_app/start_app of the broker in the {BROKER_RESTART_SCENARIO} scenario "
            "(default: on, off with --quick); every client of the broker feels it"
        ),
    ] = None,
    bad_inputs: Annotated[bool, typer.Option(help="try the bad inputs after each run under faults")] = True,
    output: Annotated[Literal["table", "json"], typer.Option("--output", "-o")] = "table",
    logs: Annotated[
        Path | None, typer.Option(help="keep each service process's log under this directory")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run the scenarios clean and under faults; print what was lost, doubled or different."""
    _logging(verbose)
    chosen = _scenarios(scenario or list(QUICK_SCENARIOS if quick else campaign.bundled()))
    restart = (not quick) if broker_restart is None else broker_restart
    names = [s.name for s in chosen]
    if restart and BROKER_RESTART_SCENARIO not in names:
        typer.echo(
            f"--broker-restart: no {BROKER_RESTART_SCENARIO} scenario in this run; no restart", err=True
        )
    plan = campaign.Campaign(
        scenarios=tuple(chosen),
        workers=workers,
        plan=QUICK if quick else FULL,
        broker_restart_scenario=BROKER_RESTART_SCENARIO if restart else None,
        seed=seed,
        bad_inputs=bad_inputs,
        logs=logs,
    )
    began = time.monotonic()
    pairs = asyncio.run(campaign.run_campaign(plan, progress=_progress))
    report = figures.report(pairs, seed=seed, seconds=time.monotonic() - began)
    if output == "json":
        sys.stdout.write(json.dumps(report) + "\n")
    else:
        _print_table(report)
    raise typer.Exit(0 if report["ok"] else 1)


def _logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("httpx", "aio_pika", "aiormq", "services.retrying", "services.triggers"):
        logging.getLogger(noisy).setLevel(logging.ERROR if not verbose else logging.INFO)
    logging.getLogger("services.testbed.chaos.campaign").setLevel(logging.INFO)


def _scenarios(given: list[str]) -> list[scenarios.Scenario]:
    found = []
    for name in given:
        try:
            found.append(campaign.load(name))
        except (OSError, scenarios.ScenarioError) as e:
            common.fail(str(e))
    return found


def _progress(run: figures.RunFigures) -> None:
    state = {None: "reference", True: "equal", False: "DIFFERENT"}[run.state_equal]
    typer.echo(
        f"chaos: {run.scenario} {run.run} run: {run.builds} builds in {run.seconds:.0f} s, "
        f"{len(run.lost_triggers)} lost ({run.late_triggers} late), {len(run.duplicate_builds)} duplicated, "
        f"state {state}{'' if run.quiet else ', NOT QUIET'}",
        err=True,
    )
    for line in (*run.lost_triggers, *run.differences):
        typer.echo(f"chaos:   {line}", err=True)


def _print_table(report: dict[str, Any]) -> None:
    table = Table(box=box.SIMPLE_HEAD, title=f"kiln chaos (seed {report['seed']}, {report['seconds']:.0f} s)")
    columns = [
        ("scenario", "scenario"),
        ("events replayed", "events_replayed"),
        ("duplicates injected", "duplicates_injected"),
        ("workers killed", "workers_killed"),
        ("connections closed", "connections_closed"),
        ("channels closed", "channels_closed"),
        ("broker restarts", "broker_restarts"),
        ("API faults", "api_faults"),
        ("registry down s", "registry_downtime_seconds"),
        ("builds", "builds"),
        ("lost triggers", "lost_triggers"),
        ("duplicate builds", "duplicate_builds"),
        ("state equal", "state_equal"),
        ("bad inputs (unhandled)", "bad_inputs"),
    ]
    for title, _ in columns:
        first = title == "scenario"
        table.add_column(title, justify="left" if first else "right", no_wrap=first, overflow="fold")
    for entry in report["scenarios"]:
        cells = []
        for _, key in columns:
            value = entry[key]
            if key == "bad_inputs":
                value = f"{len(value)} ({entry['bad_inputs_unhandled']})"
            elif key == "lost_triggers":
                late = entry["late_triggers"] + entry["reference"]["late_triggers"]
                value = f"{value + entry['reference'][key]} ({late} late)"
            elif key == "duplicate_builds":
                value = value + entry["reference"][key]
            elif key == "state_equal":
                value = "yes" if value else "NO"
            cells.append(str(value))
        table.add_row(*cells)
    console = Console(width=200)
    console.print(table)
    ended = _bad_input_ends(report)
    console.print(
        f"lost triggers {report['lost_triggers']}, duplicate builds {report['duplicate_builds']}, "
        f"state equal {'yes' if report['state_equal'] else 'NO'}, bad inputs {report['bad_inputs']} "
        f"({ended}), unhandled {report['bad_inputs_unhandled']}: {'OK' if report['ok'] else 'FAILED'}"
    )


def _bad_input_ends(report: dict[str, Any]) -> str:
    counts: dict[str, int] = {}
    for entry in report["scenarios"]:
        for bad in entry["bad_inputs"]:
            counts[bad["ended"]] = counts.get(bad["ended"], 0) + 1
    return ", ".join(f"{n} {end}" for end, n in sorted(counts.items())) or "none tried"
