"""The template sandbox: allow-listed filters, no globals, no files, and the public escape PoCs refused.

Each CVE test replays the published proof of concept for a Jinja2 sandbox escape fixed up to 3.1.6
against the environment campaign-manager templates render in.
"""

from __future__ import annotations

import os
from pathlib import Path

import jinja2
import pytest
from jinja2.exceptions import SecurityError, TemplateAssertionError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from safepassage.adapters.creative_templates import (
    ALLOWED_FILTERS,
    ALLOWED_TESTS,
    TemplateFailure,
    render,
    template_sandbox,
)

CONTEXT = {
    "organisation": {"id": "org", "name": "Org", "helpline": "", "link": "https://org.example/"},
    "organisations": [{"id": "org"}],
    "_": lambda text, **params: text % params if params else text,
}


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    root = tmp_path / "templates"
    (root / "theme").mkdir(parents=True)
    (tmp_path / "secret.txt").write_text("TOP SECRET", encoding="utf-8")
    return root


def run(templates: Path, source: str, context: dict | None = None) -> str:
    (templates / "theme" / "t.j2").write_text(source, encoding="utf-8")
    return render(template_sandbox(templates), "theme/t.j2", {**CONTEXT, **(context or {})})


def refused(templates: Path, source: str, context: dict | None = None) -> str:
    with pytest.raises(TemplateFailure) as caught:
        run(templates, source, context)
    return caught.value.message


def test_environment_is_immutable_strict_and_bare(templates):
    environment = template_sandbox(templates)
    assert isinstance(environment, ImmutableSandboxedEnvironment)
    assert environment.undefined is jinja2.StrictUndefined
    assert environment.globals == {}
    assert set(environment.filters) == ALLOWED_FILTERS
    assert set(environment.tests) == ALLOWED_TESTS
    assert not ALLOWED_FILTERS & {"attr", "format", "map", "select", "sort", "tojson", "random", "xmlattr"}


def test_allowed_filters_work(templates):
    assert run(templates, "{{ 'abc'|upper }} {{ ['a','b']|join('-') }} {{ 'x y'|title }}") == "ABC a-b X Y"


@pytest.mark.parametrize(
    "name", ["attr('upper')", "format('x')", "map('upper')", "tojson", "random", "pprint"]
)
def test_filters_outside_the_allow_list_are_refused(templates, name):
    assert "No filter named" in refused(templates, f"{{{{ 'a'|{name} }}}}")


def test_unknown_placeholder_is_refused_with_its_line(templates):
    with pytest.raises(TemplateFailure) as caught:
        run(templates, "headline: ok\nheadline: {{ organisation.nmae }}\n")
    assert caught.value.line == 2
    assert "unknown placeholder" in caught.value.message and "nmae" in caught.value.message


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ organisation.__class__ }}",
        "{{ _.__globals__ }}",
        "{{ _.__code__ }}",
        "{{ organisations.__class__.__base__ }}",
    ],
)
def test_python_internals_are_out_of_reach(templates, source):
    message = refused(templates, source)
    assert "not allowed" in message or "unsafe" in message or "undefined" in message


@pytest.mark.parametrize("name", ["lipsum", "cycler", "joiner", "namespace", "range", "dict", "config", "os"])
def test_no_globals_to_climb_from(templates, name):
    assert "is undefined" in refused(templates, f"{{{{ {name} }}}}")


def test_templates_cannot_mutate_their_context(templates):
    assert "not allowed" in refused(templates, "{{ organisations.append(1) }}")
    assert "not allowed" in refused(templates, "{{ organisation.update({'id': 'x'}) }}")


@pytest.mark.parametrize(
    "target", ["../secret.txt", "/etc/passwd", "theme/../../secret.txt", "theme/t.txt", "THEME/T.j2"]
)
def test_templates_cannot_read_files_outside_the_library(templates, target):
    message = refused(templates, f"{{% include '{target}' %}}")
    assert "template not found" in message or "template names are" in message or "not found" in message
    assert "TOP SECRET" not in message


def test_symlink_out_of_the_library_is_refused(templates):
    (templates / "theme" / "leak.j2").symlink_to(templates.parent / "secret.txt")
    assert "outside the templates folder" in refused(templates, "{% include 'theme/leak.j2' %}")


def test_environment_variables_and_credentials_are_not_reachable(templates, monkeypatch):
    monkeypatch.setenv("SAFEPASSAGE_TEST_SECRET", "hunter2")
    for source in ("{{ environ }}", "{{ self._TemplateReference__context }}", "{{ self.__dict__ }}"):
        with pytest.raises(TemplateFailure) as caught:
            run(templates, source)
        assert "hunter2" not in caught.value.message


# --- public proofs of concept -----------------------------------------------------------------


def test_cve_2016_10745_str_format_is_refused(templates):
    """str.format reached object attributes through the format string."""
    message = refused(templates, "{{ 'a{0.__class__.__init__.__globals__}b'.format(organisation) }}")
    assert "not allowed" in message or "unsafe" in message


def test_cve_2019_10906_str_format_map_is_refused(templates):
    """str.format_map was not intercepted like str.format."""
    message = refused(
        templates, "{{ 'a{x.__class__.__init__.__globals__}b'.format_map({'x': organisation}) }}"
    )
    assert "not allowed" in message or "unsafe" in message


def test_cve_2024_56326_indirect_format_call_is_refused(templates):
    """A reference to a malicious string's format method, called later by a filter."""
    environment = template_sandbox(templates)
    # No filter of ours calls its argument, so the PoC cannot even be compiled here ...
    with pytest.raises(TemplateAssertionError):
        environment.from_string("{{ 'x'|run }}")
    # ... and with the PoC's calling filter installed, the sandbox still refuses the indirect call.
    environment.filters["run"] = lambda value, arg: value(arg)
    poc = "{% set fmt = 'a{0.__class__.__init__.__globals__}b'.format %}{{ fmt|run(organisation) }}"
    with pytest.raises(SecurityError):
        environment.from_string(poc).render(CONTEXT)


def test_cve_2025_27516_attr_filter_to_format_is_refused(templates):
    """|attr('format') fetched str.format without the sandbox's check."""
    poc = "{% set fmt = 'a{0.__class__.__init__.__globals__}b'|attr('format') %}{{ fmt(organisation) }}"
    assert "No filter named 'attr'" in refused(templates, poc)
    # Even with Jinja's own attr filter back, 3.1.6 refuses the format call it returns.
    environment = template_sandbox(templates)
    environment.filters["attr"] = jinja2.filters.do_attr
    with pytest.raises(SecurityError):
        environment.from_string(poc).render(CONTEXT)


def test_cve_2024_56201_malicious_template_filename_is_refused(templates, tmp_path):
    """Code in a template's file name ran when the compiler put the name into an f-string."""
    witness = tmp_path / "pwned"
    evil_name = "theme/{__import__('os').system('touch " + str(witness) + "')}.j2"
    (templates / "theme" / "helper.j2").write_text("{% macro m() %}{% endmacro %}", encoding="utf-8")
    environment = template_sandbox(templates)
    # Our loader serves only plainly named templates, so the PoC file can never be loaded ...
    with pytest.raises(jinja2.TemplateNotFound, match="template names are"):
        environment.get_template(evil_name)
    # ... and compiling the PoC under that name (Jinja 3.1.6) neither runs the code nor imports.
    compiled = environment.compile(
        "{% from 'theme/helper.j2' import missing %}{{ missing }}", name=evil_name, filename=evil_name
    )
    template = environment.template_class.from_code(environment, compiled, {}, None)
    with pytest.raises(UndefinedError):
        template.render(CONTEXT)
    assert not witness.exists()
    assert not os.path.exists("pwned")
