"""The GitHub Actions workflow (.github/workflows/book.yml) stays valid and in step with
the Makefile: it cannot run here, so this reads it.

Every ``make <target>`` a job runs must be a target of the Makefile; ``bash .ci/run`` must
be there to run ``make test``; pushes to main build the book and the PDF and deploy them with
GitHub's official Pages actions; a weekly schedule runs the Colab check.
"""

import re
import shlex
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "book.yml"
# Targets another change adds: checked like any other once they are in the Makefile.
PENDING = {"colab-check": "the Colab check (issue 25)"}


def _workflow():
    wf = yaml.safe_load(WORKFLOW.read_text())
    # YAML 1.1 reads the key `on` as the boolean True.
    wf["on"] = wf.pop(True, wf.get("on"))
    return wf


def makefile_targets():
    text = (ROOT / "Makefile").read_text()
    targets = set()
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z0-9_./$() -]+?)\s*:(?!=)", line)
        if m and not line.startswith(("\t", "#")):
            targets.update(t for t in m[1].split() if not t.startswith((".", "$")))
    return targets


def make_calls(run):
    """The targets of every `make` command in a step's shell script."""
    calls = []
    for line in run.replace("\\\n", " ").splitlines():
        for command in re.split(r"&&|\|\||;", line):
            words = shlex.split(command, comments=True)
            if words and words[0] in ("make", "$(MAKE)"):
                calls += [w for w in words[1:] if not w.startswith("-") and "=" not in w]
    return calls


def _runs(job):
    return [step["run"] for step in job.get("steps", []) if "run" in step]


def _uses(job):
    return [step["uses"].split("@")[0] for step in job.get("steps", []) if "uses" in step]


def test_the_workflow_parses_and_has_its_jobs():
    wf = _workflow()
    assert {"build", "deploy", "colab"} <= set(wf["jobs"]), list(wf["jobs"])
    assert wf["on"]["push"]["branches"] == ["main"]
    assert wf["on"]["schedule"], "no weekly schedule for the Colab check"
    for name, job in wf["jobs"].items():
        assert "runs-on" in job, f"job {name} says nowhere to run"
        for step in job.get("steps", []):
            assert ("run" in step) != ("uses" in step), f"job {name}: step {step} is malformed"
            if "uses" in step:
                assert "@" in step["uses"], f"job {name}: {step['uses']} is not pinned"


def test_every_make_target_the_jobs_call_exists():
    targets = makefile_targets()
    assert {"test", "book", "pdf"} <= targets, "the Makefile reader found too few targets"
    runs = [run for job in _workflow()["jobs"].values() for run in _runs(job)]
    called = {target for run in runs for target in make_calls(run)}
    assert called, "no job runs make"
    missing = called - targets - set(PENDING)
    assert not missing, f"the workflow calls make targets the Makefile lacks: {sorted(missing)}"
    pending = sorted(t for t in called & set(PENDING) if t not in targets)
    if pending:
        pytest.skip(f"not in the Makefile yet: {', '.join(f'{t} ({PENDING[t]})' for t in pending)}")


def test_push_to_main_tests_builds_and_deploys_to_pages():
    jobs = _workflow()["jobs"]
    build_runs = "\n".join(_runs(jobs["build"]))
    assert "bash .ci/run" in build_runs, "the build job does not run make test through .ci/run"
    assert "make test" in (ROOT / ".ci" / "run").read_text(), ".ci/run no longer runs make test"
    calls = make_calls(build_runs)
    assert calls.index("book") < calls.index("pdf"), "the PDF must come after the book it reuses"
    assert "actions/upload-pages-artifact" in _uses(jobs["build"])
    assert "actions/deploy-pages" in _uses(jobs["deploy"])
    assert jobs["deploy"]["needs"] == "build"
    assert jobs["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}
    assert "push" in jobs["deploy"]["if"] and "schedule" in jobs["build"]["if"]


def test_the_schedule_runs_the_colab_check():
    jobs = _workflow()["jobs"]
    assert "schedule" in jobs["colab"]["if"]
    assert "colab-check" in make_calls("\n".join(_runs(jobs["colab"])))


def test_the_make_reader_sees_targets_and_calls():
    assert make_calls("make book && make -j2 pdf V=1\nbash .ci/run  # make test") == ["book", "pdf"]
    assert "linkcheck-internal" in makefile_targets()


def test_the_installed_package_holds_every_module(tmp_path):
    # Colab installs nnlib with pip from the repository: a subpackage missing from
    # pyproject.toml's package list (nnlib._engine once was) breaks every chapter there.
    # Built from a copy, so no build/ folder of an earlier build can fill the gap.
    import shutil
    import subprocess
    import sys
    import zipfile

    src = tmp_path / "src"
    shutil.copytree(ROOT / "nnlib", src / "nnlib", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ["pyproject.toml", "README.md"]:
        shutil.copy(ROOT / name, src / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(src)],
        check=True,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("nnlib-*.whl")
    shipped = {n for n in zipfile.ZipFile(wheel).namelist() if n.endswith(".py")}
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "nnlib").rglob("*.py")}
    assert modules <= shipped, f"the wheel lacks {sorted(modules - shipped)}: see pyproject.toml"
