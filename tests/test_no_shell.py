"""No code path calls a shell: an AST scan of the project's Python.

Flagged: ``os.system``, ``os.popen``, ``os.exec*p*``/``os.spawn*`` (PATH lookups of a
program name), ``subprocess.getoutput``/``getstatusoutput`` (always a shell) and any
``subprocess`` call or ``Popen`` with ``shell=`` anything but a literal ``False``.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCANNED = ("checks", "fixtures", "benchmarks", "qa", "tests", "conftest.py")

ALWAYS_SHELL = {("os", "system"), ("os", "popen"), ("subprocess", "getoutput"),
                ("subprocess", "getstatusoutput")}
SUBPROCESS_CALLS = {"run", "call", "check_call", "check_output", "Popen"}


def _dotted(node: ast.AST) -> tuple[str, ...]:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return tuple(reversed(parts))


def shell_calls(source: str, filename: str = "<string>") -> list[str]:
    """``file:line: what`` for every call that runs a shell (or may) in ``source``."""
    tree = ast.parse(source, filename)
    aliases: dict[str, tuple[str, ...]] = {}  # `from os import system as s` -> s: (os, system)
    modules: dict[str, str] = {}  # `import subprocess as sp` -> sp: subprocess
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in ("os", "subprocess"):
            for a in node.names:
                aliases[a.asname or a.name] = (node.module, a.name)
        elif isinstance(node, ast.Import):
            for a in node.names:
                modules[a.asname or a.name] = a.name
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        if len(name) == 1 and name[0] in aliases:
            name = aliases[name[0]]
        elif name and name[0] in modules:
            name = (modules[name[0]], *name[1:])
        if len(name) < 2:
            continue
        module, func = name[-2], name[-1]
        what = None
        if (module, func) in ALWAYS_SHELL:
            what = f"{module}.{func}"
        elif module == "os" and (func.startswith("spawn") or func.startswith("exec")
                                 and "p" in func[4:]):
            what = f"os.{func}"
        elif module == "subprocess" and func in SUBPROCESS_CALLS:
            for kw in node.keywords:
                if kw.arg == "shell" and not (isinstance(kw.value, ast.Constant)
                                              and kw.value.value is False):
                    what = f"subprocess.{func}(shell=...)"
        if what:
            found.append(f"{filename}:{node.lineno}: {what}")
    return found


def project_files() -> list[Path]:
    files = []
    for name in SCANNED:
        path = REPO / name
        files += [path] if path.is_file() else sorted(path.rglob("*.py"))
    return [p for p in files if "data" not in p.relative_to(REPO).parts]


def test_the_scan_sees_the_project():
    files = {p.relative_to(REPO).as_posix() for p in project_files()}
    assert {"fixtures/pipeline/handle.py", "fixtures/plugin.py", "checks/registry.py",
            "benchmarks/run.py", "tests/qa_process.py"} <= files


@pytest.mark.parametrize("snippet", [
    "import os\nos.system('ls')",
    "import os\nos.popen('ls')",
    "from os import system as s\ns('ls')",
    "import subprocess\nsubprocess.run('ls', shell=True)",
    "import subprocess as sp\nsp.Popen('ls', shell=1)",
    "from subprocess import check_output\ncheck_output('ls', shell=flag)",
    "import subprocess\nsubprocess.getoutput('ls')",
    "import os\nos.execvp('ls', ['ls'])",
])
def test_the_scan_finds_shell_calls(snippet):
    assert len(shell_calls(snippet)) == 1, snippet


def test_the_scan_accepts_argument_lists():
    ok = "import subprocess, sys\nsubprocess.run([sys.executable, '-V'], shell=False)\n"
    assert shell_calls(ok) == []


def test_no_code_path_calls_a_shell():
    found = []
    for path in project_files():
        found += shell_calls(path.read_text(), str(path.relative_to(REPO)))
    assert found == [], "\n".join(found)
