"""`make colab-check` (scripts/colab_check.py) can fail, and fails for the right reasons.

The first tests run the checker's parts on small fakes: freezes, a constraints file, an
executed notebook, a setup cell. The last two run it for real in Colab's default runtime
(Python 3.13, ipywidgets 7.7.1; the venv `make colab-check` builds, or this test builds it):
a chapter that uses an ipywidgets-8-only name or warns fails, and so does a dependency bound
that would upgrade Colab's numpy. They skip where no Python 3.13 is found, except in CI
(NNFP_REQUIRE_COLAB=1), where they fail.
"""

import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("colab_check", ROOT / "scripts" / "colab_check.py")
colab_check = importlib.util.module_from_spec(spec)
sys.modules["colab_check"] = colab_check  # dataclasses look their module up here
spec.loader.exec_module(colab_check)

CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))


def test_parse_freeze_reads_pins_and_urls():
    text = "# comment\nNumPy==2.1.3\nipython_genutils==0.2.0\ngoogle-colab @ file:///x.tar.gz\n"
    assert colab_check.parse_freeze(text) == {
        "numpy": "2.1.3",
        "ipython-genutils": "0.2.0",
        "google-colab": "@ file:///x.tar.gz",
    }


def test_changes_fails_an_upgrade_or_downgrade_of_what_colab_ships():
    colab = {"numpy": "2.1.3", "ipywidgets": "7.7.1", "tqdm": "4.67.3"}
    before = {"numpy": "2.1.3", "ipywidgets": "7.7.1", "tqdm": "4.67.3"}
    after = {"numpy": "2.3.5", "ipywidgets": "8.1.9", "tqdm": "4.67.3", "nnlib": "0.1.0"}
    failures, notes = colab_check.changes(before, after, colab)
    assert failures == ["ipywidgets 7.7.1 -> 8.1.9", "numpy 2.1.3 -> 2.3.5"]
    assert notes == []
    failures, _ = colab_check.changes(before, {**before, "numpy": "2.0.2"}, colab)
    assert failures == ["numpy 2.1.3 -> 2.0.2"]


def test_changes_accepts_nnlib_and_notes_what_colab_does_not_ship():
    colab = {"numpy": "2.1.3", "scipy": "1.16.3"}
    before = {"numpy": "2.1.3"}
    after = {"numpy": "2.1.3", "nnlib": "0.1.0", "tinylib": "1.0"}
    assert colab_check.changes(before, after, colab) == (
        [],
        ["tinylib 1.0 installed, which Colab does not ship"],
    )
    failures, _ = colab_check.changes(before, {**after, "scipy": "1.17.0"}, colab)
    assert failures == ["scipy 1.17.0 installed, Colab ships 1.16.3"]


def test_constraints_text_keeps_every_pin_and_names_what_it_leaves_out():
    freeze = "# header\nnumpy==2.1.3\ngoogle-colab @ file:///colabtools/x.tar.gz\nIPython==7.34.0\n"
    os_info = "# generated\nUbuntu 22.04.5 LTS\nPython 3.13.15\n"
    text = colab_check.constraints_text("3.13", "abc123", "2026-08-19", freeze, os_info)
    assert colab_check.parse_freeze(text) == {"numpy": "2.1.3", "ipython": "7.34.0"}
    assert "#   google-colab @ file:///colabtools/x.tar.gz" in text
    assert "abc123 (2026-08-19)" in text and "refresh 3.13" in text
    with pytest.raises(colab_check.CheckError, match="not 3.12"):
        colab_check.constraints_text("3.12", "abc123", "2026-08-19", freeze, os_info)


def test_the_runtimes_are_googles_published_ones():
    runtimes = {r.name: r for r in colab_check.runtimes()}
    assert set(runtimes) == {"colab-3.13", "colab-3.12", "minimum"}
    expected = {
        "colab-3.13": {"numpy": "2.1.3", "ipywidgets": "7.7.1", "ipython": "7.34.0"},
        "colab-3.12": {"numpy": "2.0.2", "ipywidgets": "7.7.1", "ipykernel": "6.17.1"},
    }
    for name, pins in expected.items():
        text = runtimes[name].constraints
        assert "googlecolab/backend-info" in text and "Refresh:" in text
        for package, version in pins.items():
            assert runtimes[name].colab[package] == version, (name, package)


def test_floors_are_what_the_minimum_runtime_pins_and_no_colab_runtime_lacks():
    oldest, python = colab_check.floors((ROOT / "pyproject.toml").read_text())
    assert Version(oldest["numpy"]) < Version("2.1"), "numpy 2.1 would upgrade Colab 3.12's 2.0.2"
    runtimes = colab_check.runtimes()
    minimum = next(r for r in runtimes if r.name == "minimum")
    assert minimum.python == python
    pins = colab_check.parse_freeze(minimum.constraints)
    for name, version in oldest.items():
        assert pins[name] == version
        for runtime in runtimes:
            if name in runtime.colab:
                assert Version(version) <= Version(runtime.colab[name]), (runtime.name, name)


def test_floors_refuse_a_dependency_without_one():
    pyproject = '[project]\nrequires-python = ">=3.11"\ndependencies = ["numpy"]\n'
    with pytest.raises(colab_check.CheckError, match="no floor"):
        colab_check.floors(pyproject)


def test_every_setup_cell_installs_the_configured_ref():
    assert colab_check.stamp(only_check=True) == []


def test_check_setup_cell_names_a_wrong_ref_or_repository():
    source = read(CHAPTERS[0]).cells[0].source
    url = colab_check.config_repository()["url"]
    assert colab_check.check_setup_cell(source, url, "main") == []
    (problem,) = colab_check.check_setup_cell(source, url, "v1.0")
    assert "'v1.0'" in problem and "stamp" in problem
    (problem,) = colab_check.check_setup_cell(source.replace(url, url + "-fork"), url, "main")
    assert "-fork" in problem


def test_stamp_writes_the_ref_into_the_setup_cell_and_nothing_else(tmp_path, monkeypatch):
    chapter = tmp_path / CHAPTERS[0].name
    shutil.copy(CHAPTERS[0], chapter)
    url = colab_check.config_repository()["url"]
    monkeypatch.setattr(colab_check, "config_repository", lambda: {"url": url, "nnlib_ref": "v9"})
    assert colab_check.stamp(chapters=[chapter]) == []
    before, after = read(CHAPTERS[0]), read(chapter)
    assert 'NNLIB_REF = "v9"' in after.cells[0].source
    assert after.cells[1:] == before.cells[1:]
    old, new = CHAPTERS[0].read_text().splitlines(), chapter.read_text().splitlines()
    assert [(a, b) for a, b in zip(old, new) if a != b] == [
        (a, a.replace('\\"main\\"', '\\"v9\\"')) for a in old if 'NNLIB_REF = \\"main\\"' in a
    ]


def test_setup_cell_for_check_installs_the_local_copy_instead_of_github():
    source = read(CHAPTERS[0]).cells[0].source
    local = colab_check.setup_cell_for_check(source, Path("/tmp/src"))
    assert "'/tmp/src'" in local and colab_check.INSTALL_SPEC not in local
    with pytest.raises(colab_check.CheckError):
        colab_check.setup_cell_for_check(source.replace(colab_check.INSTALL_SPEC, "'x'"), "/s")


def test_shown_problems_are_errors_and_stderr_but_not_the_local_index_notice():
    nb = nbformat.v4.new_notebook()
    out = nbformat.v4.new_output
    cells = [
        [out("stream", name="stdout", text="Loaded MNIST\n")],
        [
            out(
                "stream",
                name="stderr",
                text="WARNING: Location 'file:///opt/pypi/simple/numpy/' is ignored: "
                "it is neither a file nor a directory.\n",
            )
        ],
        [out("stream", name="stderr", text="<ipython-input-3>:1: UserWarning: careful\n")],
        [out("error", ename="AttributeError", evalue="no attribute 'Stack'", traceback=[])],
    ]
    for outputs in cells:
        cell = nbformat.v4.new_code_cell("pass")
        cell.outputs = outputs
        nb.cells.append(cell)
    assert colab_check.shown_problems(nb) == [
        "cell 2 writes to stderr: <ipython-input-3>:1: UserWarning: careful",
        "cell 3: AttributeError: no attribute 'Stack'",
    ]


def read(path):
    return nbformat.read(path, as_version=4)


# ---------------------------------------------------------------------------------------
# For real, in Colab's default runtime


@pytest.fixture(scope="module")
def colab_runtime():
    runtime = next(r for r in colab_check.runtimes() if r.name.startswith("colab-"))
    runtime.interpreter = colab_check.find_python(runtime.python)
    if runtime.interpreter is None:
        message = f"no Python {runtime.python} (pyenv install {runtime.python})"
        if os.environ.get("NNFP_REQUIRE_COLAB") == "1":
            pytest.fail(message)
        pytest.skip(message)
    stack = colab_check.CHAPTER_STACK + colab_check.nnlib_requirements(
        (ROOT / "pyproject.toml").read_text()
    )
    base = colab_check.build_venv(runtime, sorted(set(stack)))
    return runtime, base


def test_a_chapter_with_an_ipywidgets_8_name_or_a_warning_fails(colab_runtime, tmp_path):
    runtime, base = colab_runtime
    setup = read(CHAPTERS[0]).cells[0]
    nb = nbformat.v4.new_notebook(cells=[setup])
    for source in [
        "import ipywidgets as widgets\nwidgets.VBox([widgets.IntSlider()])",  # fine in 7
        "import warnings\nwarnings.warn('this goes away soon', DeprecationWarning)",
        "widgets.Stack([widgets.Label('a')], selected_index=0)",  # ipywidgets 8 only
        "print('never reached')",
    ]:
        nb.cells.append(nbformat.v4.new_code_cell(source))
    chapter = tmp_path / "99_fake.ipynb"
    nbformat.write(nb, chapter)
    source_dir = colab_check.snapshot(tmp_path / "src")
    result = colab_check.check_chapter(chapter, runtime, base, source_dir, timeout=240)
    assert result.problems[0].startswith("cell 2 writes to stderr:")
    assert "DeprecationWarning: this goes away soon" in result.problems[0]
    assert result.problems[1].startswith("cell 3: AttributeError")
    assert "Stack" in result.problems[1]
    assert len(result.problems) == 2, result.problems  # nnlib installed, nothing changed


def test_a_dependency_bound_above_colabs_numpy_fails(colab_runtime, tmp_path):
    runtime, base = colab_runtime
    project = tmp_path / "greedy"
    (project / "greedy").mkdir(parents=True)
    (project / "greedy" / "__init__.py").write_text("")
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "greedy"\nversion = "1.0"\ndependencies = ["numpy>=2.2"]\n'
    )
    failures, _ = colab_check.dry_run_changes(runtime, base, str(project))
    assert len(failures) == 1 and failures[0].startswith(f"numpy {base['numpy']} -> 2."), failures
    # The real nnlib, with every extra, changes nothing there.
    source_dir = colab_check.snapshot(tmp_path / "src")
    assert colab_check.dry_run_changes(runtime, base, f"{source_dir}[widgets]") == ([], [])


def test_the_check_serves_the_repositorys_raw_files_from_the_checkout(tmp_path):
    # Chapter 9 reads benchmarks/results/ from GitHub in Colab; the check has no network.
    import subprocess

    raw = colab_check.github_raw_prefix()
    code = (
        "import json, urllib.error, urllib.request\n"
        f"url = {raw + 'v9/benchmarks/results/bn_cnn_accuracy_fashion.json'!r}\n"
        "print(json.loads(urllib.request.urlopen(url, timeout=5).read())['dataset'])\n"
        "try:\n"
        f"    urllib.request.urlopen({raw + 'main/no/such/file.json'!r}, timeout=5)\n"
        "except urllib.error.HTTPError as e:\n"
        "    print(e.code)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT / "colab" / "stand_in"),
               NNFP_GITHUB_RAW=raw, NNFP_CHECKOUT=str(ROOT))  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path,
                         capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    expected = json.loads((ROOT / "benchmarks/results/bn_cnn_accuracy_fashion.json").read_text())
    assert out == [expected["dataset"], "404"]
