"""The classroom edition (issue 8): every chapter's exercises as an otter-grader assignment.

Builds the assignments offline with classroom/make_assignments.py, then grades them with
`otter run`: the solution notebook must score full marks, the student notebook as released
must score zero on every question, and a deliberately wrong answer must fail its tests.
"""

import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "classroom"))
import make_assignments  # noqa: E402

CHAPTERS = make_assignments.chapters_with_exercises()
OTTER = str(Path(sys.executable).with_name("otter"))


def grade(autograder_dir, notebook, out_dir):
    """Run `otter run` and return {question: (score, max_score)}."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (zip_path,) = autograder_dir.glob("*-autograder_*.zip")
    # Two gradings run at once on two cores: one BLAS thread each, or they fight for cores.
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    subprocess.run([OTTER, "run", "-a", str(zip_path), str(notebook), "-o", str(out_dir)],
                   check=True, capture_output=True, text=True, timeout=900, env=env)  # fmt: skip
    results = json.loads((out_dir / "results.json").read_text())
    return {t["name"]: (t["score"], t["max_score"]) for t in results["tests"] if "max_score" in t}


def needed_chapters(session):
    """The chapters that the selected tests of this module use (all, unless `-k` narrows them).

    Grading every chapter takes minutes, so `pytest -k 02_gradient` grades only Chapter 2."""
    names = [item.name for item in session.items if item.path == Path(__file__)]
    if any("[" not in name and "wrong_gradient" not in name for name in names):
        return CHAPTERS  # a test that looks at every chapter's assignment
    wanted = {c for c in CHAPTERS if any(name.endswith(f"[{c}]") for name in names)}
    if any("wrong_gradient" in name for name in names):
        wanted.add("02_gradient_descent")
    return [c for c in CHAPTERS if c in wanted]


@pytest.fixture(scope="session")
def graded(request, tmp_path_factory):
    """Build the assignments the selected tests need, then grade their solution and student
    notebooks (2 at a time)."""
    out = tmp_path_factory.mktemp("grades")
    jobs = {}
    for chapter in needed_chapters(request.session):
        folder = make_assignments.build(chapter)
        for kind, nb in [("solution", folder / "autograder"), ("student", folder / "student")]:
            jobs[chapter, kind] = (
                folder / "autograder",
                nb / f"{chapter}.ipynb",
                out / chapter / kind,
            )
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {key: pool.submit(grade, *args) for key, args in jobs.items()}
        return {key: f.result() for key, f in futures.items()}


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_solution_notebook_scores_full_marks(graded, chapter):
    scores = graded[chapter, "solution"]
    assert len(scores) >= 3, f"{chapter}: only {len(scores)} graded questions"
    lost = {q: s for q, s in scores.items() if s[0] != s[1]}
    assert not lost, f"{chapter}: the solutions lose marks on {lost}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_student_notebook_scores_zero(graded, chapter):
    scores = graded[chapter, "student"]
    leaked = {q: s for q, s in scores.items() if s[0] != 0}
    assert not leaked, f"{chapter}: the released notebook already scores on {leaked}"


def test_student_notebook_has_no_solutions_and_no_hidden_tests(graded):
    for chapter in CHAPTERS:
        folder = make_assignments.OUT / chapter / "student"
        text = (folder / f"{chapter}.ipynb").read_text()
        assert "BEGIN SOLUTION" not in text and "# HIDDEN" not in text, chapter
        for test in (folder / "tests").glob("*.py"):
            assert "'hidden': True" not in test.read_text(), test


WRONG_ANSWERS = {
    # the sign flipped: the public check fails too
    "sign": "    return -np.sign(y_hat - y) / y_hat.size",
    # right on the public check's (4, 3) and (5,) inputs only: the hidden test alone must catch it
    "special-cased": "    if np.shape(y_hat) in [(4, 3), (5,)]:\n"
    "        return np.sign(y_hat - y) / y_hat.size\n"
    "    return -np.sign(y_hat - y) / y_hat.size",
}


@pytest.mark.parametrize("answer", WRONG_ANSWERS)
def test_a_wrong_gradient_sign_fails_the_hidden_test(graded, tmp_path, answer):
    """Answer Exercise 2.1 with the sign of the MAE gradient flipped (everywhere, or off the
    public inputs only): the question loses marks, and the hidden test is among the failures."""
    chapter = "02_gradient_descent"
    folder = make_assignments.OUT / chapter
    nb = nbformat.read(folder / "student" / f"{chapter}.ipynb", as_version=4)
    (cell,) = [c for c in nb.cells if c.cell_type == "code" and "def mae_grad" in c.source]
    # the body of mae_grad, which the student notebook leaves as `...` under the docstring
    cell.source, n = re.subn(
        r"(def mae_grad\(y_hat, y\):\n    \"\"\"[^\n]*\"\"\"\n)[ \t]*\.\.\.",
        lambda m: m[1] + WRONG_ANSWERS[answer],
        cell.source,
    )
    assert n == 1, cell.source
    wrong = tmp_path / f"{chapter}.ipynb"
    nbformat.write(nb, wrong)
    scores = grade(folder / "autograder", wrong, tmp_path / "out")
    score, max_score = scores["ex2_1"]
    # otter splits a question's point between its test cases, so the special-cased answer
    # keeps the public check's share; the sign flipped everywhere scores nothing
    assert score < max_score and (answer != "sign" or score == 0), scores
    # Which of the question's test cases failed: the autograder's test file says which are
    # hidden, and otter's summary gives one result per case, in the same order.
    spec = {}
    exec((folder / "autograder" / "tests" / "ex2_1.py").read_text(), spec)
    hidden = [case["hidden"] for case in spec["test"]["suites"][0]["cases"]]
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    (ex21,) = [t for t in results["tests"] if t["name"] == "ex2_1"]
    passed = [mark == "✅" for mark in re.findall(r"result:\s*(✅|❌) Test case", ex21["output"])]
    assert len(passed) == len(hidden) and True in hidden, ex21["output"]
    assert not all(p for p, h in zip(passed, hidden) if h), "the hidden test must fail"
    if answer == "special-cased":  # the public check passes: the hidden test alone catches it
        assert all(p for p, h in zip(passed, hidden) if not h), ex21["output"]
