"""``kiln chaos`` refuses a scenario file it cannot run before it starts anything, naming each bad
line; it names the bundled scenarios when asked for one that does not exist."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from services.cli.main import app


def test_a_bad_scenario_file_is_refused_with_its_bad_lines_and_nothing_runs(tmp_path: Path) -> None:
    scenario = tmp_path / "mine.jsonl"
    scenario.write_text(
        '{"op": "scenario", "name": "mine"}\n{"op": "builder"}\n{"op": "image"}\n{"op": "push"}\n',
        encoding="utf-8",
    )

    result = CliRunner().invoke(app, ["chaos", str(scenario)])

    assert result.exit_code == 1
    assert f"{scenario}: line 3: name: Field required" in result.stderr
    assert f"{scenario}: line 4: op: 'push' is not one of" in result.stderr
    assert result.stdout == ""


def test_an_unknown_scenario_name_lists_the_bundled_ones() -> None:
    result = CliRunner().invoke(app, ["chaos", "no-such-scenario"])

    assert result.exit_code == 1
    assert (
        "no scenario 'no-such-scenario': bundled ones are builder-update, pushes-and-trigger" in result.stderr
    )
