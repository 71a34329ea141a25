"""Build every chapter's exercises into an autograded otter-grader assignment, offline.

The chapters are the single source. Each exercise in a chapter is three cells:

1. a markdown cell ``### Exercise N.k: title`` stating the task;
2. a code cell tagged ``hide-input`` with the solution between ``# BEGIN SOLUTION`` and
   ``# END SOLUTION`` (a collapsed dropdown in the book);
3. a code cell of public checks: plain ``assert`` statements (its ``print`` lines are
   for readers of the book and are dropped from the tests, see ``as_test``).

This script copies a chapter, wraps each exercise in otter-grader 7's assign format
(raw ``# BEGIN QUESTION`` ... ``# END QUESTION`` cells), adds the hidden tests written in
``classroom/hidden/<chapter>.py`` (one ``def test_N_k():`` per exercise), and runs
``otter assign``. For chapter ``NN_name`` it writes::

    _build/assignments/NN_name/student/NN_name.ipynb     solutions removed, public tests kept
    _build/assignments/NN_name/autograder/NN_name.ipynb  the solution notebook
    _build/assignments/NN_name/autograder/*-autograder_*.zip   for `otter run -a`, Gradescope
    _build/assignments/NN_name/autograder/tests/*.py     public and hidden tests

Usage: python classroom/make_assignments.py [chapter ...]   (default: every chapter)
"""

import ast
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
HIDDEN = ROOT / "classroom" / "hidden"
OUT = ROOT / "_build" / "assignments"
EXERCISE = re.compile(r"^### Exercise (\d+)\.(\d+)", re.M)

CONFIG = """# ASSIGNMENT CONFIG
name: {name}
init_cell: false
check_all_cell: false
export_cell: false
run_tests: false
solutions_pdf: false
generate: true
tests:
  files: true
"""


def raw(text):
    return nbformat.v4.new_raw_cell(text, metadata={"tags": ["remove-cell"]})


def hidden_tests(chapter):
    """{"N.k": source of the body of test_N_k} from classroom/hidden/<chapter>.py."""
    path = HIDDEN / f"{chapter}.py"
    if not path.exists():
        return {}
    source = path.read_text()
    tests = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            body = "\n".join(source.splitlines()[node.body[0].lineno - 1 : node.end_lineno])
            tests[node.name[5:].replace("_", ".")] = textwrap.dedent(body)
    return tests


def as_test(source):
    """Source fit for an otter (doctest) test: no prints, no bare expressions.

    A doctest fails on any output it does not expect, so top-level ``print(...)`` lines
    are dropped and other top-level expressions become ``_ = expression``.
    """
    lines = source.splitlines()
    for node in reversed(ast.parse(source).body):
        if isinstance(node, ast.Expr) and node.col_offset == 0:
            first = node.lineno - 1
            if isinstance(node.value, ast.Call) and getattr(node.value.func, "id", "") == "print":
                del lines[first : node.end_lineno]
            else:
                lines[first] = "_ = " + lines[first]
    return "\n".join(lines).strip()


def to_master(chapter):
    """The chapter notebook rewritten in otter assign format."""
    nb = nbformat.read(ROOT / "chapters" / f"{chapter}.ipynb", as_version=4)
    hidden = hidden_tests(chapter)
    cells = [raw(CONFIG.format(name=chapter))]
    found = []
    i = 0
    while i < len(nb.cells):
        cell = nb.cells[i]
        match = EXERCISE.search(cell.source) if cell.cell_type == "markdown" else None
        if not match:
            cells.append(cell)
            i += 1
            continue
        if match.start() > 0:  # text before the heading stays outside the question
            cells.append(nbformat.v4.new_markdown_cell(cell.source[: match.start()]))
            cell = nbformat.v4.new_markdown_cell(cell.source[match.start() :])
        number = f"{match[1]}.{match[2]}"
        solution, check = nb.cells[i + 1], nb.cells[i + 2]
        if "# BEGIN SOLUTION" not in solution.source or check.cell_type != "code":
            raise ValueError(
                f"{chapter}: Exercise {number} must be followed by a solution cell "
                "(with # BEGIN SOLUTION) and a code cell of checks"
            )
        if number not in hidden:
            raise ValueError(
                f"{chapter}: Exercise {number} has no hidden test "
                f"(add def test_{number.replace('.', '_')}() to {HIDDEN / chapter}.py)"
            )
        name = f"ex{match[1]}_{match[2]}"
        solution = nbformat.v4.new_code_cell(solution.source)
        cells += [
            raw(f"# BEGIN QUESTION\nname: {name}\npoints: 1"),
            cell,
            raw("# BEGIN SOLUTION"),
            solution,
            raw("# END SOLUTION"),
            raw("# BEGIN TESTS"),
            nbformat.v4.new_code_cell(as_test(check.source)),
            nbformat.v4.new_code_cell("# HIDDEN\n" + as_test(hidden[number])),
            raw("# END TESTS"),
            raw("# END QUESTION"),
        ]
        found.append(number)
        i += 3
    unused = sorted(set(hidden) - set(found))
    if unused:
        raise ValueError(f"{chapter}: hidden tests for exercises that do not exist: {unused}")
    nb.cells = cells
    return nb, found


def build(chapter):
    """Write the master notebook and run otter assign; return the output folder."""
    out = OUT / chapter
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    master, found = to_master(chapter)
    nbformat.write(master, out / f"{chapter}.ipynb")
    subprocess.run(
        [str(Path(sys.executable).with_name("otter")), "assign", "--no-pdfs",
         f"{chapter}.ipynb", "dist"],
        cwd=out, check=True, capture_output=True, text=True,
    )  # fmt: skip
    # otter writes dist/{student,autograder}; lift them up a level.
    for part in ("student", "autograder"):
        shutil.move(out / "dist" / part, out / part)
    shutil.rmtree(out / "dist")
    (out / f"{chapter}.ipynb").unlink()
    print(f"{chapter}: {len(found)} questions -> {out.relative_to(ROOT)}")
    return out


def chapters_with_exercises():
    """The stems of every chapter notebook that has at least one exercise."""
    found = []
    for path in sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        if any(c.cell_type == "markdown" and EXERCISE.search(c.source) for c in nb.cells):
            found.append(path.stem)
    return found


def main(chapters):
    for chapter in chapters or chapters_with_exercises():
        build(chapter)


if __name__ == "__main__":
    main(sys.argv[1:])
