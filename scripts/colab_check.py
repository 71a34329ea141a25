"""Run every chapter as a Colab reader does, in each Colab runtime: `make colab-check`.

For each runtime, one constraints file in colab/ (Google's published `pip freeze` of it):

1. a virtual environment from pyenv's Python of that minor version, holding what the
   chapters need (CHAPTER_STACK and nnlib's dependencies) at exactly Colab's versions;
2. every chapter executed from its first cell, the setup cell, which pip-installs nnlib as it
   does in Colab (from this checkout instead of GitHub: no network here), in an empty folder,
   under a stand-in ``google.colab`` (colab/stand_in), one thread, a time limit. It fails on
   what a reader would see go wrong: an error, anything written to stderr (warnings), or the
   install upgrading or downgrading a package Colab ships;
3. one line per chapter and runtime, with its time.

A third runtime, "minimum", is the minimum-dependencies job: Python and nnlib's dependencies
at the oldest versions pyproject.toml declares (the rest as in the oldest Colab runtime), so
the floors there are versions that are run.

Subcommands (run from the repository root, with the book's .venv):
  colab_check.py [run] [--runtime NAME]...   the check (default: every runtime)
  colab_check.py refresh PYTHON COMMIT       rewrite colab/constraints-PYTHON.txt from
                                             googlecolab/backend-info at COMMIT (needs network)
  colab_check.py stamp [--check]             write _config.yml's repository.nnlib_ref into
                                             every chapter's setup cell (--check: only compare)

Environment: COLAB_CHECK_TIMEOUT (seconds a chapter may take, default 300);
COLAB_CHECK_JOBS (runtimes checked at once, default 2 where there are 2 cores: a kernel uses
one); NNFP_REQUIRE_COLAB=1 (CI: fail instead of skipping when no runtime's Python is found).
"""

import argparse
import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
COLAB = ROOT / "colab"
STAND_IN = COLAB / "stand_in"
WORK = ROOT / "_build" / "colab"
BACKEND_INFO = "https://raw.githubusercontent.com/googlecolab/backend-info"

# What a chapter needs besides nnlib and its dependencies (which are added from
# pyproject.toml): the kernel Colab runs, the widgets, and pip's own tools. Everything they
# pull in comes at Colab's versions too. A chapter that imports something else (pandas,
# scipy) fails here with ModuleNotFoundError until it is added.
CHAPTER_STACK = ["pip", "setuptools", "wheel", "ipykernel", "ipython", "ipywidgets", "requests"]
# The versions the check's first lines name for each runtime.
ABOUT = ["numpy", "matplotlib", "ipywidgets", "ipython", "ipykernel"]

# The setup cell installs f"{NNLIB_GIT}@{NNLIB_REF}"; the check installs this checkout instead.
INSTALL_SPEC = 'f"{NNLIB_GIT}@{NNLIB_REF}"'
GIT_LINE = re.compile(r'^\s*NNLIB_GIT = "git\+([^"]+)"', re.M)
REF_LINE = re.compile(r'^\s*NNLIB_REF = "([^"]*)"', re.M)

# pip's complaint about a configured local index (file://) folder that lacks a package: it
# comes from this machine's pip configuration, not from the chapter, and Colab has no such
# index. The only stderr line the check lets through.
LOCAL_INDEX_NOISE = re.compile(
    r"^WARNING: Location 'file://\S+' is ignored: it is neither a file nor a directory\.$"
)

# The kernel's environment, beside PYTHONPATH: one thread, as the check times one core; the
# embedded data sample, as there is no network (in Colab nnlib downloads the full data); no
# pip version notice, which needs the network too.
KERNEL_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "NNLIB_DATA_SOURCE": "sample",
    "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    "PYTHONNOUSERSITE": "1",
    # debugpy's note about frozen modules goes to the kernel's own terminal, never to a page.
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
}
# Not in a Colab kernel: a forced matplotlib backend (make test's Agg makes plt.show() warn)
# or warnings filters from the caller.
KERNEL_ENV_DROP = ["MPLBACKEND", "PYTHONWARNINGS", "PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"]


class CheckError(Exception):
    """Something the check cannot go on from; its message says what and what to do."""


# ---------------------------------------------------------------------------------------
# Freezes and constraints


def parse_freeze(text):
    """{canonical name: version} from `pip freeze` lines; `name @ url` lines map to the url."""
    versions = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "-")):
            continue
        if " @ " in line:
            name, url = line.split(" @ ", 1)
            versions[canonicalize_name(name)] = "@ " + url.strip()
        elif "==" in line:
            name, version = line.split("==", 1)
            versions[canonicalize_name(name)] = version.strip()
    return versions


def constraints_text(python, commit, date, freeze, os_info):
    """A constraints file from Google's pip-freeze.txt and os-info.txt of one runtime.

    Keeps every `name==version` line; lines that install from a URL are left out (they are
    not on a package index), each named in the header.
    """
    found = re.search(r"^Python (\d+\.\d+)\.\d+", os_info, re.M)
    if not found or found.group(1) != python:
        raise CheckError(f"os-info.txt at {commit} says {found and found.group(0)!r}, not {python}")
    system = next(line for line in os_info.splitlines() if line and not line.startswith("#"))
    pinned, dropped = [], []
    for line in freeze.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        (dropped if " @ " in line else pinned).append(line.strip())
    head = [
        f"# Google Colab's runtime with {found.group(0)} ({system}): every Python package",
        "# as `pip freeze` lists it there, published by Google in googlecolab/backend-info",
        f"# (pip-freeze.txt and os-info.txt) at commit {commit} ({date}).",
        "# scripts/colab_check.py (`make colab-check`) installs what the chapters need at these",
        "# versions, then checks that installing nnlib changes none of them.",
        f"# Refresh: .venv/bin/python scripts/colab_check.py refresh {python} <commit>",
        "# Left out: Colab installs these from URLs, not from a package index",
        "# (colab/stand_in stands in for google-colab):",
        *(f"#   {line}" for line in dropped),
    ]
    return "\n".join(head + sorted(pinned, key=str.lower)) + "\n"


def refresh(python, commit):
    """Rewrite colab/constraints-PYTHON.txt from googlecolab/backend-info at COMMIT."""

    def get(url):
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.read().decode()

    freeze = get(f"{BACKEND_INFO}/{commit}/pip-freeze.txt")
    os_info = get(f"{BACKEND_INFO}/{commit}/os-info.txt")
    api = f"https://api.github.com/repos/googlecolab/backend-info/commits/{commit}"
    date = json.loads(get(api))["commit"]["committer"]["date"][:10]
    path = COLAB / f"constraints-{python}.txt"
    path.write_text(constraints_text(python, commit, date, freeze, os_info))
    print(f"wrote {path.relative_to(ROOT)}")


def changes(before, after, colab):
    """What an install did to the packages, as (failures, notes), from two freezes.

    A failure: a package that was there got another version or went away, or a new package
    came at another version than the one Colab ships. A note: a new package Colab does not
    ship (an extra download for a reader, not a change to their runtime). nnlib itself is
    expected to arrive.
    """
    failures, notes = [], []
    for name, version in sorted(before.items()):
        if after.get(name) != version:
            now = after.get(name, "removed")
            failures.append(f"{name} {version} -> {now}")
    for name, version in sorted(after.items()):
        if name in before or name == "nnlib":
            continue
        if name in colab and colab[name] != version:
            failures.append(f"{name} {version} installed, Colab ships {colab[name]}")
        elif name not in colab:
            notes.append(f"{name} {version} installed, which Colab does not ship")
    return failures, notes


def floors(pyproject):
    """{canonical name: oldest version} that pyproject.toml's `>=` bounds declare, and Python's."""
    project = tomllib.loads(pyproject)["project"]
    oldest = {}
    requirements = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    for text in requirements:
        requirement = Requirement(text)
        lows = [s.version for s in requirement.specifier if s.operator in (">=", "==", "~=")]
        if not lows:
            raise CheckError(f"pyproject.toml: {text!r} declares no floor (>=)")
        oldest[canonicalize_name(requirement.name)] = lows[0]
    python = re.fullmatch(r">=\s*(\d+\.\d+)", project["requires-python"].strip())
    if not python:
        raise CheckError(f"requires-python must read '>=X.Y', not {project['requires-python']!r}")
    return oldest, python.group(1)


def nnlib_requirements(pyproject):
    """The names nnlib's dependencies and extras need, canonical."""
    project = tomllib.loads(pyproject)["project"]
    texts = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        texts += extra
    return sorted({canonicalize_name(Requirement(t).name) for t in texts})


# ---------------------------------------------------------------------------------------
# The setup cell and _config.yml


def config_repository():
    return yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]


def github_raw_prefix():
    """Where GitHub serves the repository's files: this prefix, then a ref, then a path."""
    url = config_repository()["url"].rstrip("/")
    return url.replace("https://github.com/", "https://raw.githubusercontent.com/") + "/"


def check_setup_cell(source, url, ref):
    """Problems with a setup cell against _config.yml's repository url and nnlib_ref."""
    problems = []
    gits, refs = GIT_LINE.findall(source), REF_LINE.findall(source)
    if gits != [url]:
        problems.append(f'installs from {gits}, but _config.yml says "{url}"')
    if refs != [ref]:
        problems.append(
            f"installs nnlib at {refs}, but _config.yml's repository.nnlib_ref is {ref!r} "
            "(run `.venv/bin/python scripts/colab_check.py stamp`)"
        )
    if source.count(INSTALL_SPEC) != 1:
        problems.append(f"has no single pip install of {INSTALL_SPEC}, which the check replaces")
    return problems


def setup_cell_for_check(source, local):
    """The setup cell with the GitHub install replaced by this checkout's copy."""
    if source.count(INSTALL_SPEC) != 1:
        raise CheckError(f"the setup cell has no single {INSTALL_SPEC} to install from {local}")
    return source.replace(INSTALL_SPEC, repr(str(local)))


def stamp(only_check=False, chapters=None):
    """Write _config.yml's nnlib_ref into every chapter's setup cell; return the problems."""
    repository = config_repository()
    url, ref = repository["url"], str(repository["nnlib_ref"])
    problems = []
    for path in chapters or sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb")):
        text = path.read_text()
        first = nbformat.reads(text, as_version=4).cells[0].source
        if not only_check and REF_LINE.findall(first) and REF_LINE.findall(first) != [ref]:
            # Edit the one line in the notebook's JSON text: every other byte stays.
            old = REF_LINE.search(first).group(0)
            new = old.replace(f'"{REF_LINE.search(first).group(1)}"', f'"{ref}"')
            encoded_old, encoded_new = json.dumps(old)[1:-1], json.dumps(new)[1:-1]
            if text.count(encoded_old) != 1:
                problems.append(f"{path.name}: cannot find the one NNLIB_REF line to rewrite")
                continue
            text = text.replace(encoded_old, encoded_new)
            path.write_text(text)
            first = nbformat.reads(text, as_version=4).cells[0].source
            print(f"{path.name}: setup cell now installs nnlib at {ref}")
        problems += [f"{path.name}: {p}" for p in check_setup_cell(first, url, ref)]
    return problems


# ---------------------------------------------------------------------------------------
# Runtimes and their virtual environments


@dataclass
class Runtime:
    name: str
    python: str  # minor version, e.g. "3.13"
    constraints: str  # the text of a pip constraints file
    about: str
    interpreter: Path | None = None
    colab: dict = field(default_factory=dict)  # what this runtime ships, {name: version}

    @property
    def home(self):
        return WORK / self.name

    @property
    def venv_python(self):
        return self.home / "venv" / "bin" / "python"


def runtimes():
    """The Colab runtimes of colab/constraints-*.txt, newest first, then "minimum"."""
    found = []
    for path in sorted(COLAB.glob("constraints-*.txt"), reverse=True):
        python = path.stem.removeprefix("constraints-")
        text = path.read_text()
        pins = parse_freeze(text)
        where = re.search(r"Python \d+\.\d+\.\d+", text)
        date = re.search(r"at commit (\w{7})\w* \(([\d-]+)\)", text)
        about = f"Colab of {date.group(2)} ({date.group(1)}): {where.group(0)}, " + ", ".join(
            f"{name} {pins[name]}" for name in ABOUT if name in pins
        )
        found.append(Runtime(f"colab-{python}", python, text, about, colab=pins))
    if not found:
        raise CheckError(f"no constraints-*.txt in {COLAB}")
    oldest, python = floors((ROOT / "pyproject.toml").read_text())
    base = found[-1]
    lines = [
        line
        for line in base.constraints.splitlines()
        if canonicalize_name(re.split(r"[=<>~ @]", line.strip(), maxsplit=1)[0] or "#")
        not in oldest
    ]
    lines += [f"{name}=={version}" for name, version in sorted(oldest.items())]
    about = (
        f"minimum dependencies: Python {python}, "
        + ", ".join(f"{n} {v}" for n, v in sorted(oldest.items()))
        + f" (pyproject.toml's floors), the rest as {base.name}"
    )
    found.append(Runtime("minimum", python, "\n".join(lines) + "\n", about, colab=base.colab))
    return found


def find_python(minor):
    """pyenv's newest Python MINOR.x, else pythonMINOR on PATH; None if there is none."""
    roots = [os.environ.get("PYENV_ROOT", ""), str(Path.home() / ".pyenv")]
    candidates = []
    for root in filter(None, roots):
        for home in Path(root).glob(f"versions/{minor}.*"):
            if re.fullmatch(rf"{re.escape(minor)}\.\d+", home.name):
                candidates.append((int(home.name.split(".")[2]), home / "bin" / f"python{minor}"))
    for _, path in sorted(candidates, reverse=True):
        if path.exists():
            return path
    on_path = shutil.which(f"python{minor}")
    return Path(on_path) if on_path else None


def run(cmd, **kwargs):
    """Run a command; raise CheckError with the tail of its output if it fails."""
    done = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if done.returncode:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise CheckError(f"{' '.join(map(str, cmd))} failed:\n{tail}")
    return done.stdout


def freeze(python):
    """{canonical name: version} of what is installed for `python`."""
    return parse_freeze(run([python, "-m", "pip", "freeze", "--all"], env=pip_env()))


def pip_env():
    env = {k: v for k, v in os.environ.items() if k not in KERNEL_ENV_DROP}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def kernel_env(runtime):
    env = pip_env()
    env.update(KERNEL_ENV)
    env["PYTHONPATH"] = str(STAND_IN)
    env["MPLCONFIGDIR"] = str(runtime.home / "mplconfig")
    # The repository's raw files on GitHub, served from the snapshot nnlib is installed from
    # (colab/stand_in/sitecustomize.py): Chapter 9 reads benchmark results that way in Colab.
    env["NNFP_GITHUB_RAW"] = github_raw_prefix()
    env["NNFP_CHECKOUT"] = str(runtime.home / "src")
    return env


def build_venv(runtime, stack, log=print):
    """The runtime's virtual environment with `stack` at its versions; reused while current.

    Returns its freeze without nnlib. A venv whose packages drifted (a failed check may have
    upgraded something) or whose constraints changed is built again.
    """
    constraints = runtime.home / "constraints.txt"
    key = hashlib.sha256(
        "\n".join([runtime.constraints, " ".join(stack), str(runtime.interpreter)]).encode()
    ).hexdigest()
    stamp_file, base_file = runtime.home / "built", runtime.home / "base-freeze.json"
    python = runtime.venv_python
    if stamp_file.exists() and stamp_file.read_text() == key and python.exists():
        run([python, "-m", "pip", "uninstall", "-q", "-y", "nnlib"], env=pip_env())
        base = json.loads(base_file.read_text())
        if freeze(python) == base:
            return base
        log(f"{runtime.name}: packages changed since the venv was built; building it again")
    shutil.rmtree(runtime.home / "venv", ignore_errors=True)
    runtime.home.mkdir(parents=True, exist_ok=True)
    stamp_file.unlink(missing_ok=True)
    constraints.write_text(runtime.constraints)
    started = time.perf_counter()
    run([runtime.interpreter, "-m", "venv", runtime.home / "venv"])
    pins = parse_freeze(runtime.constraints)
    pip = [python, "-m", "pip", "install", "-q", "-c", constraints]
    try:
        run(pip + ["pip"] * ("pip" in pins), env=pip_env())  # Colab's pip installs the rest
        run(pip + stack, env=pip_env())
    except CheckError as exc:
        raise CheckError(
            f"{runtime.name}: pip could not install Colab's versions for Python "
            f"{runtime.python} from the configured package index: {exc}"
        ) from None
    # Matplotlib builds its font cache on first import and says so on stderr; Colab's is built.
    run([python, "-c", "import matplotlib.pyplot"], env=kernel_env(runtime))
    base = freeze(python)
    base_file.write_text(json.dumps(base, indent=1, sort_keys=True))
    stamp_file.write_text(key)
    log(f"{runtime.name}: built {python.parent.parent} in {time.perf_counter() - started:.0f} s")
    return base


def snapshot(dest):
    """Copy what a clone of this repository holds (tracked and new, unignored files) to dest.

    pip builds nnlib inside the folder it installs from; a copy keeps build/ out of the
    checkout, lets runtimes install at once, and holds what pip would get from GitHub.
    """
    shutil.rmtree(dest, ignore_errors=True)
    listed = run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=ROOT)
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


def version_problems(runtime, base):
    """Installed packages whose version is not the one this runtime pins."""
    pins = parse_freeze(runtime.constraints)
    return [
        f"{name} {version} installed, {runtime.name} pins {pins[name]}"
        for name, version in sorted(base.items())
        if name in pins and pins[name] != version
    ]


def dry_run_changes(runtime, base, target):
    """What `pip install target` would change (checked without installing), as changes()."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        cmd = [runtime.venv_python, "-m", "pip", "install", "-q", "--dry-run", "--report"]
        run(cmd + [report, target], env=pip_env())
        wanted = json.loads(report.read_text())["install"]
    after = dict(base)
    for item in wanted:
        after[canonicalize_name(item["metadata"]["name"])] = item["metadata"]["version"]
    return changes(base, after, runtime.colab)


# ---------------------------------------------------------------------------------------
# Executing a chapter


@dataclass
class Result:
    chapter: str
    seconds: float
    setup_seconds: float | None
    problems: list
    notes: list


def shown_problems(nb):
    """What a reader would see go wrong in an executed notebook: errors and stderr output."""
    problems = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if output.output_type == "error":
                problems.append(f"cell {index}: {output.ename}: {output.evalue}")
            elif output.output_type == "stream" and output.name == "stderr":
                lines = [
                    line
                    for line in output.text.splitlines()
                    if line.strip() and not LOCAL_INDEX_NOISE.match(line.strip())
                ]
                if lines:
                    problems.append(f"cell {index} writes to stderr: {lines[0][:200]}")
    return problems


def execute(nb, runtime, timeout, cwd):
    """Run nb's code cells in the runtime's kernel, in order, as a reader does.

    Each cell's outputs are kept as a notebook stores them (all of them: clear_output, which
    ipywidgets' interact sends on each update, is not applied, so nothing shown even briefly
    escapes the check) and its seconds go in
    cell.metadata["colab_check_seconds"]. Stops at the first error (unless the cell is tagged
    raises-exception), if the kernel dies, or after `timeout` seconds in all. Returns what
    stopped it besides an error in a cell (that error is in the cell's outputs), or None.

    A blocking client, one message at a time: nbclient's asyncio client lost the reply to an
    ipywidgets 7 `interact` cell now and then here, and then waited until the time ran out.
    """
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    kernels = runtime.home / "kernels"
    spec = kernels / "colab"
    spec.mkdir(parents=True, exist_ok=True)
    argv = [str(runtime.venv_python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    argv.append("--IPKernelApp.exec_lines=import google.colab")  # as Colab's kernel does
    # SIGUSR1 makes the kernel write every thread's stack to `stacks`: where a timeout stopped.
    stacks = Path(cwd) / ".kernel-stacks.txt"
    argv.append(
        "--IPKernelApp.exec_lines=__import__('faulthandler').register(__import__('signal')"
        f".SIGUSR1, file=open({str(stacks)!r}, 'w'), all_threads=True)"
    )
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": runtime.name, "language": "python"})
    )
    manager = KernelManager(
        kernel_name="colab", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels)])
    )
    deadline = time.monotonic() + timeout
    manager.start_kernel(env=kernel_env(runtime), cwd=cwd)
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=min(120, timeout))
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            stopped = run_cell(client, manager, cell, deadline)
            if stopped == "timeout":
                where = kernel_stack(manager, stacks)
                limit = f"did not finish within {timeout} s (COLAB_CHECK_TIMEOUT)"
                return f"{limit}; cell {index} was running{where}"
            if stopped:
                return f"cell {index}: {stopped}"
            errors = [o for o in cell.outputs if o.output_type == "error"]
            if errors and "raises-exception" not in cell.metadata.get("tags", []):
                return None  # shown_problems reports the error
    except RuntimeError as exc:  # the kernel did not start
        return f"the kernel did not start: {exc}"
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    return None


def run_cell(client, manager, cell, deadline):
    """Execute one cell and collect its outputs; "timeout", a reason it stopped, or None."""
    from queue import Empty

    started = time.perf_counter()
    msg_id = client.execute(cell.source, allow_stdin=False, stop_on_error=True)
    cell.outputs = []
    replied = idle = False
    while not (replied and idle):
        if time.monotonic() > deadline:
            return "timeout"
        if not manager.is_alive():
            return "the kernel died"
        with contextlib.suppress(Empty):
            message = client.get_iopub_msg(timeout=0.2)
            if message["parent_header"].get("msg_id") == msg_id:
                kind, content = message["msg_type"], message["content"]
                if kind == "status":
                    idle = content["execution_state"] == "idle"
                elif kind in ("stream", "display_data", "execute_result", "error"):
                    cell.outputs.append(nbformat.v4.output_from_msg(message))
        with contextlib.suppress(Empty):
            while not replied:
                reply = client.get_shell_msg(timeout=0)
                replied = reply["parent_header"].get("msg_id") == msg_id
    cell.metadata["colab_check_seconds"] = time.perf_counter() - started
    return None


def kernel_stack(manager, stacks):
    """The innermost frames of the kernel's main thread, asked for with SIGUSR1."""
    with contextlib.suppress(Exception):
        os.kill(manager.provisioner.pid, signal.SIGUSR1)
        time.sleep(2)
        main = stacks.read_text().split("Current thread")[-1].split("\n\n")[0]
        return "; the kernel was at:\n" + "\n".join(main.splitlines()[1:9])
    return ""


def check_chapter(path, runtime, base, source_dir, timeout):
    """Execute one chapter with its setup cell in the runtime; what went wrong, and its time."""
    nb = nbformat.read(path, as_version=4)
    problems = []
    nb.cells[0].source = setup_cell_for_check(nb.cells[0].source, source_dir)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="colab-content-") as cwd:  # Colab's /content
        stopped = execute(nb, runtime, timeout, cwd)
    seconds = time.perf_counter() - started
    problems += shown_problems(nb)
    if stopped:
        problems.append(stopped)
    after = freeze(runtime.venv_python)
    if "nnlib" not in after:
        problems.append("the setup cell did not install nnlib")
    failures, notes = changes(base, after, runtime.colab)
    problems += [f"installing nnlib changed {f}" for f in failures]
    setup = nb.cells[0].metadata.get("colab_check_seconds")
    return Result(path.name, seconds, setup, problems, notes)


# ---------------------------------------------------------------------------------------
# The check


def check_runtime(runtime, chapters, timeout, say):
    """Check every chapter in one runtime; return the number of failures."""
    stack = sorted(
        set(CHAPTER_STACK) | set(nnlib_requirements((ROOT / "pyproject.toml").read_text()))
    )
    try:
        base = build_venv(runtime, stack, log=say)
    except CheckError as exc:
        say(f"{runtime.name:<11} FAIL  {exc}")
        return 1
    failed = 0
    for problem in version_problems(runtime, base):
        say(f"{runtime.name:<11} FAIL  {problem}")
        failed += 1
    source_dir = snapshot(runtime.home / "src")
    # nnlib and each of its extras, as pip would resolve them here (the chapters install
    # plain nnlib for real below; an extra is checked only this way).
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for extra in ["", *project.get("optional-dependencies", {})]:
        name = f"nnlib[{extra}]" if extra else "nnlib"
        bad, _ = dry_run_changes(runtime, base, f"{source_dir}[{extra}]" if extra else source_dir)
        for problem in bad:
            say(f"{runtime.name:<11} FAIL  pip install {name} would change {problem}")
            failed += 1
    for path in chapters:
        result = check_chapter(path, runtime, base, source_dir, timeout)
        setup = (
            "" if result.setup_seconds is None else f" (setup cell {result.setup_seconds:.1f} s)"
        )
        status = "FAIL" if result.problems else "ok"
        say(f"{runtime.name:<11} {status:<5} {result.chapter:<32} {result.seconds:6.1f} s{setup}")
        for line in result.problems:
            say(f"{'':<11}       {line}")
        for line in result.notes:
            say(f"{'':<11}       note: {line}")
        failed += bool(result.problems)
        if result.problems:
            run([runtime.venv_python, "-m", "pip", "uninstall", "-q", "-y", "nnlib"], env=pip_env())
            if freeze(runtime.venv_python) != base:
                say(f"{runtime.name:<11}       the venv changed; it is built again next run")
                (runtime.home / "built").unlink(missing_ok=True)
                base = {**freeze(runtime.venv_python)}
    return failed


def main_run(names, only=(), child=False):
    required = os.environ.get("NNFP_REQUIRE_COLAB") == "1"
    timeout = int(os.environ.get("COLAB_CHECK_TIMEOUT", "300"))
    jobs = int(os.environ.get("COLAB_CHECK_JOBS", str(min(2, os.cpu_count() or 1))))
    chosen = [r for r in runtimes() if not names or r.name in names]
    chapters = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
    chapters = [p for p in chapters if not only or any(p.name.startswith(o) for o in only)]
    for runtime in chosen:
        runtime.interpreter = find_python(runtime.python)
    if child:  # one runtime, for a parent that prints the rest
        return 1 if check_runtime(chosen[0], chapters, timeout, print_now) else 0
    missing = [r for r in chosen if r.interpreter is None]
    colab = [r for r in chosen if r.name.startswith("colab-")]
    if colab and all(r in missing for r in colab) and not required:
        print(
            "SKIPPED make colab-check: no Python "
            + " or ".join(r.python for r in colab)
            + " here (pyenv install 3.13 3.12 provides them); set NNFP_REQUIRE_COLAB=1 to fail."
        )
        return 0
    problems = stamp(only_check=True)
    for problem in problems:
        print(f"FAIL  {problem}")
    for runtime in missing:
        name, python = runtime.name, runtime.python
        print(f"{name:<11} FAIL  no Python {python} found (pyenv install {python})")
    ready = [r for r in chosen if r not in missing]
    for runtime in ready:
        print_now(f"{runtime.name:<11} {runtime.about}; {runtime.interpreter}")
    started = time.perf_counter()
    if jobs > 1 and len(ready) > 1:
        # Each runtime in its own process, `jobs` at once; their lines are printed as they come.
        def one(runtime):
            cmd = [sys.executable, __file__, "run", "--child", "--runtime", runtime.name]
            cmd += [arg for chapter in only for arg in ("--chapter", chapter)]
            with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, bufsize=1) as proc:
                for line in proc.stdout:
                    print_now(line.rstrip("\n"))
            return proc.returncode != 0

        with ThreadPoolExecutor(jobs) as pool:
            failed = sum(pool.map(one, ready))
    else:
        failed = sum(check_runtime(r, chapters, timeout, print_now) for r in ready)
    failed += len(problems) + len(missing)
    total = time.perf_counter() - started
    verdict = "FAILED" if failed else "passed"
    print(
        f"colab-check {verdict}: {len(chapters)} chapters x {len(ready)} runtimes in {total:.0f} s"
    )
    return 1 if failed else 0


_print_lock = threading.Lock()


def print_now(line):
    with _print_lock:
        print(line, flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    run_parser = sub.add_parser("run", help="the check (default)")
    run_parser.add_argument("--runtime", action="append", default=[], help="e.g. colab-3.13")
    run_parser.add_argument("--chapter", action="append", default=[], help="e.g. 06")
    run_parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    refresh_parser = sub.add_parser("refresh", help="rewrite a constraints file (network)")
    refresh_parser.add_argument("python", help="minor version, e.g. 3.13")
    refresh_parser.add_argument("commit", help="a commit of googlecolab/backend-info")
    stamp_parser = sub.add_parser("stamp", help="write nnlib_ref into the setup cells")
    stamp_parser.add_argument("--check", action="store_true", help="compare only")
    args = parser.parse_args(argv)
    try:
        if args.command == "refresh":
            refresh(args.python, args.commit)
            return 0
        if args.command == "stamp":
            problems = stamp(only_check=args.check)
            for problem in problems:
                print(problem)
            return 1 if problems else 0
        if args.command is None:
            return main_run([])
        return main_run(args.runtime, args.chapter, args.child)
    except CheckError as exc:
        print(f"colab-check: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
