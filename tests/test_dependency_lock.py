"""The lock files in requirements/ (written by scripts/lock.sh) against pyproject.toml, and scripts/setup.sh
installing from them: a dependency added, removed or re-ranged in pyproject.toml without re-locking fails here,
not on the next fresh machine."""

import os
import re
import shutil
import subprocess
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
BASE_LOCK = "requirements/base.txt"
DEV_LOCK = "requirements/dev.txt"
RELOCK = "run ./scripts/lock.sh (README, Dependencies)"
PYPROJECT = "mentoring (pyproject.toml)"
AXE_LOCK = "requirements/axe-core.txt"
AXE_SPEC, AXE_INTEGRITY = next(line for line in (ROOT / AXE_LOCK).read_text().splitlines()
                               if not line.startswith("#")).split()


@dataclass
class Locked:
    requirement: Requirement
    hashes: list[str]
    via: set[str] = field(default_factory=set)

    @property
    def version(self) -> str:
        (spec,) = self.requirement.specifier
        return spec.version


def read_lock(relative: str) -> dict[str, Locked]:
    """Package name -> its pinned requirement, hashes and `# via` annotations, as uv pip compile writes them."""
    locked: dict[str, Locked] = {}
    current = None
    logical = re.sub(r"\\\n\s*", " ", (ROOT / relative).read_text())
    for line in logical.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            annotation = re.fullmatch(r"# via (.+)|#   (.+)", stripped)  # one reason, or one of several under "# via"
            if current is not None and line.startswith("    #") and annotation:
                current.via.add(annotation[1] or annotation[2])
            continue
        requirement_text, *hash_options = re.split(r"\s+--hash=", stripped)
        assert not requirement_text.startswith("-"), f"{relative}: unexpected option line {stripped!r}"
        requirement = Requirement(requirement_text)
        current = Locked(requirement, hash_options)
        locked[canonicalize_name(requirement.name)] = current
    return locked


def pyproject_requirements(extra: str | None = None) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    texts = project["optional-dependencies"][extra] if extra else project["dependencies"]
    return [Requirement(text) for text in texts]


LOCKS = {
    BASE_LOCK: pyproject_requirements(),
    DEV_LOCK: pyproject_requirements() + pyproject_requirements("dev"),
}


@pytest.mark.parametrize("lock", LOCKS)
def test_every_pyproject_dependency_is_locked_within_its_range(lock):
    locked = read_lock(lock)
    for requirement in LOCKS[lock]:
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement.name} is in pyproject.toml but not in {lock}: {RELOCK}"
        version = locked[name].version
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{lock} pins {requirement.name}=={version}, outside pyproject.toml's {requirement}: {RELOCK}"
        )


@pytest.mark.parametrize("lock", LOCKS)
def test_lock_holds_nothing_pyproject_no_longer_asks_for(lock):
    """Each locked package is there because pyproject.toml asks for it or another locked package needs it."""
    locked = read_lock(lock)
    direct = {canonicalize_name(requirement.name) for requirement in LOCKS[lock]}
    for name, entry in locked.items():
        assert entry.via, f"{lock} does not say why it locks {name}: {RELOCK}"
        if PYPROJECT in entry.via:
            assert name in direct, f"{lock} locks {name} for pyproject.toml, which no longer asks for it: {RELOCK}"
        needed_by = {canonicalize_name(via) for via in entry.via if via != PYPROJECT and not via.startswith("-c ")}
        assert needed_by <= set(locked), f"{lock} locks {name} for {sorted(needed_by - set(locked))}, which it does not lock: {RELOCK}"


@pytest.mark.parametrize("lock", LOCKS)
def test_every_locked_package_is_pinned_with_the_hashes_of_its_files(lock):
    for name, entry in read_lock(lock).items():
        specifiers = list(entry.requirement.specifier)
        assert len(specifiers) == 1 and specifiers[0].operator == "==", f"{lock}: {name} is not pinned to one version"
        assert entry.requirement.url is None, f"{lock}: {name} comes from a URL, not the index"
        assert entry.hashes, f"{lock}: {name} has no hash, so `pip install --require-hashes` would refuse the file"
        assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", value) for value in entry.hashes), f"{lock}: {name} has a malformed hash"


def test_tests_run_on_the_versions_production_runs():
    """requirements/dev.txt holds every package of requirements/base.txt at the same version, files and markers."""
    base, dev = read_lock(BASE_LOCK), read_lock(DEV_LOCK)
    for name, entry in base.items():
        assert name in dev, f"{DEV_LOCK} lacks {name}, which production installs: {RELOCK}"
        assert str(dev[name].requirement) == str(entry.requirement), (
            f"{DEV_LOCK} has {dev[name].requirement}, production has {entry.requirement}: {RELOCK}"
        )
        assert sorted(dev[name].hashes) == sorted(entry.hashes), f"{name}'s files differ between the locks: {RELOCK}"


# --- scripts/setup.sh -----------------------------------------------------------------------------


@pytest.fixture
def project_copy(tmp_path):
    """setup.sh and what it reads, in a folder of its own, with stand-ins for dpkg and the virtualenv's pip."""
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    shutil.copy2(ROOT / "scripts" / "setup.sh", project / "scripts" / "setup.sh")
    shutil.copy2(ROOT / "pyproject.toml", project / "pyproject.toml")
    shutil.copytree(ROOT / "requirements", project / "requirements")

    stubs = tmp_path / "stubs"
    stubs.mkdir()
    (stubs / "dpkg").write_text("#!/bin/sh\nexit 0\n")  # every Debian package is installed
    venv_bin = tmp_path / "venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "python").write_text("#!/bin/sh\nexit 0\n")  # the virtualenv exists
    (venv_bin / "pip").write_text(f'#!/bin/sh\necho "$*" >> {tmp_path / "pip-calls"}\n')
    for stub in (stubs / "dpkg", venv_bin / "python", venv_bin / "pip"):
        stub.chmod(0o755)
    axe = project / ".cache" / AXE_SPEC / "axe.min.js"  # fetched already (tests below fetch it with a stand-in npm)
    axe.parent.mkdir(parents=True)
    axe.write_text("/* axe */")
    return project, tmp_path


def run_setup(project, tmp_path) -> list[str]:
    calls = tmp_path / "pip-calls"
    calls.unlink(missing_ok=True)
    env = {**os.environ, "PATH": f"{tmp_path / 'stubs'}:{os.environ['PATH']}", "VENV": str(tmp_path / "venv")}
    proc = subprocess.run([project / "scripts" / "setup.sh"], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return calls.read_text().splitlines() if calls.exists() else []


def test_setup_installs_the_locked_versions_then_the_project_without_resolving_again(project_copy):
    assert run_setup(*project_copy) == [
        f"install -q --require-hashes -r {DEV_LOCK}",
        "install -q --no-deps -e .",
    ]


@pytest.mark.parametrize("changed", [BASE_LOCK, DEV_LOCK, "pyproject.toml"])
def test_setup_installs_again_when_the_lock_changes_and_only_then(project_copy, changed):
    project, tmp_path = project_copy
    assert run_setup(project, tmp_path), "the first run installs"
    assert run_setup(project, tmp_path) == [], "nothing changed, so nothing is installed again"
    with (project / changed).open("a") as file:
        file.write("# re-locked\n")
    assert run_setup(project, tmp_path) == [
        f"install -q --require-hashes -r {DEV_LOCK}",
        "install -q --no-deps -e .",
    ]


# --- axe-core, fetched by scripts/setup.sh for the accessibility tests ----------------------------------------


def stand_in_npm(tmp_path, script: str):
    """An `npm` on the PATH that `npm pack` calls make a tarball of `package/axe.min.js` holding `script`."""
    package = tmp_path / "npm-package" / "package"
    package.mkdir(parents=True)
    (package / "axe.min.js").write_text(script)
    (package / "LICENSE").write_text("MPL-2.0")
    tarball = tmp_path / "npm-package" / "axe-core.tgz"
    subprocess.run(["tar", "-czf", tarball, "-C", package.parent, "package"], check=True)
    npm = tmp_path / "stubs" / "npm"
    npm.write_text(f'#!/bin/sh\necho "$*" >> {tmp_path / "npm-calls"}\ncp {tarball} ./axe-core.tgz\n')
    npm.chmod(0o755)
    digest = subprocess.run(f"openssl dgst -sha512 -binary {tarball} | base64 -w0", shell=True, check=True,
                            capture_output=True, text=True).stdout
    return f"sha512-{digest}"


def test_axe_core_is_in_the_lock_with_npm_s_sha512():
    assert re.fullmatch(r"axe-core@\d+\.\d+\.\d+", AXE_SPEC)
    assert re.fullmatch(r"sha512-[A-Za-z0-9+/]{86}==", AXE_INTEGRITY)


def test_setup_fetches_axe_core_once_when_its_hash_matches(project_copy):
    project, tmp_path = project_copy
    shutil.rmtree(project / ".cache")
    integrity = stand_in_npm(tmp_path, "window.axe = {};")
    (project / AXE_LOCK).write_text(f"# the lock\n{AXE_SPEC} {integrity}\n")
    run_setup(project, tmp_path)
    assert (project / ".cache" / AXE_SPEC / "axe.min.js").read_text() == "window.axe = {};"
    assert (tmp_path / "npm-calls").read_text().split() == ["pack", "--silent", AXE_SPEC]
    run_setup(project, tmp_path)
    assert len((tmp_path / "npm-calls").read_text().splitlines()) == 1, "fetched once, then kept"


def test_setup_refuses_an_axe_core_whose_hash_differs(project_copy):
    project, tmp_path = project_copy
    shutil.rmtree(project / ".cache")
    stand_in_npm(tmp_path, "window.axe = {tampered: true};")
    env = {**os.environ, "PATH": f"{tmp_path / 'stubs'}:{os.environ['PATH']}", "VENV": str(tmp_path / "venv")}
    proc = subprocess.run([project / "scripts" / "setup.sh"], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert f"requirements/axe-core.txt says {AXE_INTEGRITY}: refused" in proc.stderr
    assert not (project / ".cache" / AXE_SPEC).exists()
