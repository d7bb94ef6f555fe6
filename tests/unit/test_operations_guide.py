"""Every command docs/operations.md tells ops staff to run exists, with the options it names:
`safepassage …` (the project's CLI), `airflow …` (Airflow's CLI) and `make …` (the Makefile)."""

from __future__ import annotations

import argparse
import re
import shlex

import pytest

from safepassage import settings
from safepassage.cli import build_parser

GUIDE = settings.PROJECT_ROOT / "docs" / "operations.md"
PREFIXES = (".venv/bin/", "docker compose exec airflow-scheduler ")


def guide_commands() -> list[tuple[int, list[str]]]:
    """(line, words) of every command line in the guide's code blocks and inline code."""
    found: list[tuple[int, list[str]]] = []
    in_block = False
    for number, line in enumerate(GUIDE.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith("```"):
            in_block = not in_block
            continue
        texts = [line] if in_block else re.findall(r"`([^`]+)`", line)
        for text in texts:
            text = text.strip()
            for prefix in PREFIXES:
                text = text.removeprefix(prefix)
            if text.split(" ", 1)[0] in ("safepassage", "airflow", "make") and " " in text:
                found.append((number, shlex.split(text.split("  #", 1)[0])))
    return found


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def check_against(parser: argparse.ArgumentParser, words: list[str]) -> list[str]:
    """Problems with `words` (the command minus its program name) for this argparse tree."""
    problems = []
    for index, word in enumerate(words):
        choices = subparsers(parser)
        if word.startswith("-"):
            options = {o for action in parser._actions for o in action.option_strings}
            if word.split("=", 1)[0] not in options:
                problems.append(f"no option {word}")
        elif choices:
            if word not in choices:
                problems.append(f"no sub-command {word!r} (after {' '.join(words[:index]) or 'the program'})")
                break
            parser = choices[word]
    return problems


@pytest.fixture(scope="module")
def airflow_parser() -> argparse.ArgumentParser:
    from airflow.cli.cli_parser import get_parser

    return get_parser()


def test_the_guide_names_commands_of_each_kind() -> None:
    programs = {words[0] for _, words in guide_commands()}
    assert programs == {"safepassage", "airflow", "make"}


def test_every_safepassage_and_airflow_command_in_the_guide_exists(
    airflow_parser: argparse.ArgumentParser,
) -> None:
    parsers = {"safepassage": build_parser(), "airflow": airflow_parser}
    problems = [
        f"docs/operations.md:{line}: {' '.join(words)}: {problem}"
        for line, words in guide_commands()
        if words[0] in parsers
        for problem in check_against(parsers[words[0]], words[1:])
    ]
    assert problems == []


def test_every_make_target_in_the_guide_exists() -> None:
    makefile = (settings.PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([\w-]+):", makefile, flags=re.MULTILINE))
    named = {words[1] for _, words in guide_commands() if words[0] == "make"}
    assert named and named <= targets


def test_the_checker_catches_a_command_that_does_not_exist(airflow_parser: argparse.ArgumentParser) -> None:
    assert check_against(build_parser(), ["pause", "--country", "PL"]) == []
    assert check_against(build_parser(), ["unpause", "--country", "PL"])
    assert check_against(airflow_parser, ["dags", "pause", "--nope"]) == ["no option --nope"]
