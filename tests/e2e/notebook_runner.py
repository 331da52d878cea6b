"""Run a notebook's code cells in order, in one Python process of an SDK env, like "Run All" in Jupyter.

No Jupyter is needed in the SDK envs: ``DRIVER`` (stdlib only) is written next to the notebook and run by
``harness.run_program``, so a notebook run gets the same clean environment, fake server and request
recording as a script run. The driver reads ``notebook.ipynb`` from its own folder and, for each code cell:

* skips cells whose cell magic is not Python (``%%bash``, ``%%html``...); ``%%writefile name`` writes the
  file; ``%%time``/``%%capture``-like magics run their body (without timing output, which would differ);
* replaces IPython lines that are not Python with ``pass`` at the same indentation: ``!shell`` (so
  ``!pip install`` never touches the env), ``%line`` magics, ``?`` help; ``%env NAME=value`` sets the
  variable, ``%time <statement>`` runs the statement, ``x = !cmd`` binds an empty list;
* compiles the cell with top-level ``await`` allowed and runs it in one namespace on one event loop;
* like IPython's display hook, prints ``repr()`` of the cell's last expression unless it is None or the
  cell ends with ``;``.

A cell that raises stops the run (as "Run All" does): the traceback goes to stderr, exit status 1.
Each cell's output is preceded by ``[cell N]`` on stdout, so a difference names its cell.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Optional, Union

from .fake_server import FakeOpenAIServer
from .harness import ProgramRun, copy_support_files, load_program_spec, run_program

__all__ = ["DRIVER", "DRIVER_NAME", "NOTEBOOK_NAME", "python_lines_for_tests", "run_notebook", "stage_notebook"]

DRIVER_NAME = "_run_notebook.py"
NOTEBOOK_NAME = "notebook.ipynb"
NOT_SUPPORT_FILES = {"run.json", "__pycache__", NOTEBOOK_NAME}

DRIVER = r'''
import ast
import asyncio
import inspect
import json
import os
import re
import sys
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun"}
MAGIC_LINE = re.compile(r"^([ \t]*)(?:[!%?]|[A-Za-z_][\w.]*(?:[ \t]*,[ \t]*[A-Za-z_][\w.]*)*[ \t]*=[ \t]*(?:!|%(?!=)))")


def cell_source(cell):
    source = cell.get("source", "")
    return source if isinstance(source, str) else "".join(source)


def python_lines(lines):
    """IPython lines -> Python lines, one for one. Lines inside triple-quoted strings are left alone."""
    out, in_string = [], None
    for line in lines:
        if in_string is None:
            match = MAGIC_LINE.match(line)
            stripped = line.strip()
            if match:
                indent = match.group(1)
                body = stripped
                env = re.match(r"%env\s+([A-Za-z_]\w*)[ =](.*)$", body)
                timed = re.match(r"%(?:time|timeit|prun)(?:\s+-\S+)*\s+(\S.*)$", body)
                assign = re.match(r"([A-Za-z_][\w.]*)\s*=\s*!", body)
                if env:
                    line = f"{indent}__import__('os').environ[{env.group(1)!r}] = {env.group(2).strip()!r}"
                elif timed:
                    line = indent + timed.group(1)
                elif assign:
                    line = f"{indent}{assign.group(1)} = []"
                else:
                    line = indent + "pass"
            elif stripped.endswith("?") and not stripped.startswith("#") and '"' not in stripped and "'" not in stripped:
                line = line[:len(line) - len(line.lstrip())] + "pass"
        for quote in ('"""', "\'\'\'"):
            count = line.count(quote)
            if in_string in (None, quote) and count % 2 == 1:
                in_string = quote if in_string is None else None
        out.append(line)
    return out


def runnable(source):
    """The cell as Python, or None to skip it."""
    lines = source.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return None
    match = re.match(r"%%(\S+)\s*(.*)$", lines[first])
    if match:
        name, rest = match.group(1), match.group(2)
        if name == "writefile":
            target = os.path.join(HERE, rest.split()[-1])
            with open(target, "w", encoding="utf-8") as handle:
                handle.write("\n".join(lines[first + 1:]))
            print(f"Writing {rest.split()[-1]}")
            return None
        if name not in PYTHON_CELL_MAGICS:
            return None
        lines = lines[first + 1:]
        if name == "capture":
            return ("import contextlib as __c, io as __io\nwith __c.redirect_stdout(__io.StringIO()):\n"
                    + "\n".join("    " + line for line in python_lines(lines)))
    return "\n".join(python_lines(lines))


def run_cell(code, number, namespace, loop, suppress):
    flags = ast.PyCF_ONLY_AST | getattr(ast, "PyCF_ALLOW_TOP_LEVEL_AWAIT", 0)
    tree = compile(code, f"<cell {number}>", "exec", flags=flags, dont_inherit=True)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr) and not suppress:
        last = ast.Expression(tree.body.pop().value)
    run_flags = getattr(ast, "PyCF_ALLOW_TOP_LEVEL_AWAIT", 0)
    body = compile(tree, f"<cell {number}>", "exec", flags=run_flags, dont_inherit=True)
    result = eval(body, namespace)
    if inspect.iscoroutine(result):
        loop.run_until_complete(result)
    if last is not None:
        value = eval(compile(last, f"<cell {number}>", "eval", flags=run_flags, dont_inherit=True), namespace)
        if inspect.iscoroutine(value):
            value = loop.run_until_complete(value)
        if value is not None:
            namespace["_"] = value
            print(repr(value))


def main():
    name = sys.argv[1] if len(sys.argv) > 1 else "notebook.ipynb"
    with open(os.path.join(HERE, name), encoding="utf-8") as handle:
        notebook = json.load(handle)
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    sys.path.insert(0, HERE)
    for number, cell in enumerate(notebook["cells"], start=1):
        if cell.get("cell_type") != "code":
            continue
        source = cell_source(cell)
        code = runnable(source)
        if code is None:
            continue
        print(f"[cell {number}]", flush=True)
        try:
            run_cell(code, number, namespace, loop, source.rstrip().endswith(";"))
        except BaseException:
            sys.stdout.flush()
            traceback.print_exc()
            sys.exit(1)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
'''


def stage_notebook(program_dir: Union[str, Path], workdir: Union[str, Path], notebook: Optional[bytes] = None) -> Path:
    """Copy a notebook program's support files into ``workdir``, write the notebook (default: the
    program's own) and the driver. Returns the driver's path."""
    program_dir, workdir = Path(program_dir), Path(workdir)
    copy_support_files(program_dir, workdir, NOT_SUPPORT_FILES)
    (workdir / NOTEBOOK_NAME).write_bytes(notebook if notebook is not None else (program_dir / NOTEBOOK_NAME).read_bytes())
    driver = workdir / DRIVER_NAME
    driver.write_text(DRIVER, encoding="utf-8")
    return driver


def run_notebook(program_dir: Union[str, Path], env_name: str, server: FakeOpenAIServer, workdir: Union[str, Path],
                 notebook: Optional[bytes] = None, env: Optional[Mapping[str, Optional[str]]] = None) -> ProgramRun:
    """Run a notebook program (``fixtures/e2e_notebooks/<name>/``: ``notebook.ipynb``, an optional ``run.json``
    and support files) in SDK env ``env_name`` against ``server``; ``notebook`` replaces its notebook's bytes
    (e.g. with their migration)."""
    spec = load_program_spec(program_dir)
    driver = stage_notebook(program_dir, workdir, notebook)
    overrides = dict(spec.env)
    overrides.update(env or {})
    return run_program(env_name, driver, server, workdir, overrides, spec.timeout)


def _driver_namespace() -> dict:
    namespace: dict = {"__name__": "notebook_driver", "__file__": __file__}
    exec(compile(DRIVER, "notebook_driver", "exec"), namespace)
    return namespace


def python_lines_for_tests(lines):
    """The driver's IPython-to-Python line transform, for testing the driver itself."""
    return _driver_namespace()["python_lines"](lines)
