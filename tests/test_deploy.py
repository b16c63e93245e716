"""The production deployment (Dockerfile, docker/web.sh, docker-compose.yml) checked without a
Docker engine: every command a container runs must exist in the project, the stack must refuse
to start without its secrets, and the environment it passes must give a production configuration."""

import importlib
import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path, PurePosixPath

import environ
import pytest
import yaml

from tests.test_settings import settings_with

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
APP_SERVICES = ("web", "worker", "beat")
WEASYPRINT_DEBIAN_PACKAGES = {"libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz-subset0", "fonts-dejavu-core"}


# --- reading the files --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose):
    return compose["services"]


class MissingVariable(Exception):
    pass


_INTERPOLATION = re.compile(r"\$(?:(\$)|\{(\w+)(?:(:?[-?])([^}]*))?\}|(\w+))")


def interpolate(value: str, host_env: dict[str, str]) -> str:
    """Compose's variable substitution: $$, ${VAR}, $VAR, ${VAR:-default}, ${VAR-default}, ${VAR:?error}."""

    def substitute(match):
        escaped, name, op, arg, bare = match.groups()
        if escaped:
            return "$"
        if bare:
            return host_env.get(bare, "")
        value = host_env.get(name)
        unset_or_empty = value is None or (value == "" and op and op.startswith(":"))
        if op and op.endswith("?") and unset_or_empty:
            raise MissingVariable(f"{name}: {arg}")
        if op and op.endswith("-") and unset_or_empty:
            return arg
        return value or ""

    return _INTERPOLATION.sub(substitute, value)


def environment_of(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def resolved_environment(service: dict, host_env: dict[str, str]) -> dict[str, str]:
    return {key: interpolate(value, host_env) for key, value in environment_of(service).items()}


def dockerfile_of(service: dict) -> Path:
    build = service["build"]
    if isinstance(build, str):
        build = {"context": build}
    return (COMPOSE_FILE.parent / build.get("context", ".") / build.get("dockerfile", "Dockerfile")).resolve()


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    logical, current = [], ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        if current.strip():
            logical.append(current.strip())
        current = ""
    result = []
    for line in logical:
        instruction, _, args = line.partition(" ")
        result.append((instruction.upper(), args.strip()))
    return result


def last(instructions, name: str) -> str | None:
    values = [args for instruction, args in instructions if instruction == name]
    return values[-1] if values else None


def exec_form(args: str) -> list[str]:
    return json.loads(args) if args.startswith("[") else shlex.split(args)


def dockerfile_env(instructions) -> dict[str, str]:
    env = {}
    for instruction, args in instructions:
        if instruction == "ENV":
            env.update(dict(part.split("=", 1) for part in shlex.split(args)))
    return env


def command_of(service: dict) -> list[str]:
    command = service.get("command")
    if command is None:
        command = exec_form(last(dockerfile_instructions(dockerfile_of(service)), "CMD"))
    return shlex.split(command) if isinstance(command, str) else list(command)


def project_dependencies() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {re.split(r"[\[<>=!~ ;]", dep, maxsplit=1)[0].lower() for dep in project["dependencies"]}


# --- checking a command -------------------------------------------------------------------------


def check_command(argv: list[str], workdir: PurePosixPath, seen=()) -> None:
    """Fail unless what `argv` runs inside the container exists in the project."""
    assert argv, "empty command"
    program = argv[0]
    if program in {"gunicorn", "celery"}:
        assert program in project_dependencies(), f"{program} runs in the container but is not a dependency in pyproject.toml"
    if program == "gunicorn":
        check_gunicorn(argv)
    elif program == "celery":
        check_celery(argv)
    elif program in {"python", "python3"}:
        check_python(argv)
    elif "/" in program or program.endswith(".sh"):
        check_script(program, workdir, seen)
    else:
        pytest.fail(f"do not know how to check command {argv}")


def check_gunicorn(argv):
    targets = [arg for arg in argv[1:] if re.fullmatch(r"[\w.]+:\w+", arg)]
    assert targets, f"gunicorn is given no module:attribute to serve: {argv}"
    module_name, attribute = targets[0].split(":")
    spec = importlib.util.find_spec(module_name)
    assert spec is not None and spec.origin, f"gunicorn serves {module_name}, which does not exist"
    assert Path(spec.origin).resolve().is_relative_to(ROOT), f"{module_name} is not a module of this project"
    module = importlib.import_module(module_name)
    assert callable(getattr(module, attribute, None)), f"{module_name} defines no WSGI callable {attribute}"
    bind = argv[argv.index("--bind") + 1] if "--bind" in argv else None
    assert bind == "0.0.0.0:8000", f"gunicorn must listen on 0.0.0.0:8000 inside the container, not {bind}"


def check_celery(argv):
    from celery import Celery
    from celery.app.utils import find_app
    from celery.bin.celery import celery as celery_cli

    app_option = next((argv[i + 1] for i, arg in enumerate(argv) if arg in {"-A", "--app"}), None)
    assert app_option, f"celery is not told which app to run: {argv}"
    app = find_app(app_option)  # resolves -A exactly as the celery command does
    assert isinstance(app, Celery), f"celery -A {app_option} finds {app!r}, not a Celery app"
    assert importlib.util.find_spec("mentoring.celery").origin == str(ROOT / "mentoring" / "celery.py")
    assert app is importlib.import_module("mentoring.celery").app, "celery -A mentoring must find mentoring/celery.py's app"
    subcommands = [arg for arg in argv[1:] if arg in celery_cli.commands]
    assert subcommands and subcommands[0] in {"worker", "beat"}, f"celery runs no worker or beat: {argv}"


def check_python(argv):
    assert argv[1:2] == ["manage.py"], f"unexpected python command {argv}"
    assert (ROOT / "manage.py").is_file()
    from django.core.management import get_commands

    assert argv[2] in get_commands(), f"manage.py has no command {argv[2]!r}"


def check_script(program: str, workdir: PurePosixPath, seen):
    path = PurePosixPath(program)
    if path.is_absolute():
        assert path.is_relative_to(workdir), f"{program} is outside the image's project folder {workdir}"
        path = path.relative_to(workdir)
    script = ROOT / path
    assert script.is_file(), f"{program} does not exist (looked for {script})"
    assert os.access(script, os.X_OK), f"{script.relative_to(ROOT)} is not executable"
    text = script.read_text()
    assert text.startswith("#!/bin/sh") or text.startswith("#!/usr/bin/env bash") or text.startswith("#!/bin/bash")
    shell = "sh" if text.startswith("#!/bin/sh") else "bash"
    syntax = subprocess.run([shell, "-n", str(script)], capture_output=True, text=True)
    assert syntax.returncode == 0, f"{script.name} has a syntax error: {syntax.stderr}"
    assert script not in seen, f"{script.name} runs itself"

    logical = re.sub(r"\\\n\s*", " ", text).splitlines()
    commands = [line.strip() for line in logical if re.match(r"\s*(exec|python3?)\s", line)]
    execs = [line for line in commands if line.startswith("exec ")]
    assert execs, f"{script.name} never execs the long-running process, so signals would not reach it"
    for line in commands:
        argv = shlex.split(line)
        check_command(argv[1:] if argv[0] == "exec" else argv, workdir, (*seen, script))


# --- the tests ----------------------------------------------------------------------------------


def test_compose_has_the_whole_stack(services):
    assert set(services) >= {"web", "worker", "beat", "db", "redis"}


def test_services_that_build_use_a_dockerfile_that_exists(services):
    building = [name for name, service in services.items() if "build" in service]
    assert set(building) >= set(APP_SERVICES)
    for name in building:
        assert dockerfile_of(services[name]).is_file(), f"{name} builds from {dockerfile_of(services[name])}, which does not exist"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_service_command_exists_in_the_project(services, name):
    service = services[name]
    workdir = PurePosixPath(last(dockerfile_instructions(dockerfile_of(service)), "WORKDIR") or "/")
    check_command(command_of(service), workdir)


def test_each_app_service_runs_its_own_process(services):
    web = command_of(services["web"])
    assert web[0] == "gunicorn" or web[0].endswith("/web.sh"), f"web does not serve the site: {web}"
    assert "worker" in command_of(services["worker"])
    assert "beat" in command_of(services["beat"])


def test_web_script_migrates_before_serving():
    text = (ROOT / "docker" / "web.sh").read_text()
    migrate, serve = text.find("manage.py migrate"), text.find("exec gunicorn")
    assert 0 <= migrate < serve, "web.sh must apply migrations before starting gunicorn"
    assert text.startswith("#!") and "set -e" in text, "a failed migration must stop the container, not serve anyway"


@pytest.mark.parametrize("name", APP_SERVICES)
@pytest.mark.parametrize("variable", ["SECRET_KEY", "ALLOWED_HOSTS"])
def test_secrets_are_required_from_the_host(services, name, variable):
    service = services[name]
    host = {"SECRET_KEY": "from-the-host", "ALLOWED_HOSTS": "mentoring.example.org"}
    assert resolved_environment(service, host)[variable] == host[variable]
    without = {key: value for key, value in host.items() if key != variable}
    with pytest.raises(MissingVariable, match=variable):
        resolved_environment(service, without)
    with pytest.raises(MissingVariable, match=variable):
        resolved_environment(service, {**without, variable: ""})


@pytest.mark.parametrize("name", APP_SERVICES)
def test_debug_is_off_in_production(services, name):
    env = resolved_environment(services[name], {"SECRET_KEY": "k", "ALLOWED_HOSTS": "h"})
    assert "DEBUG" in env, "settings default to DEBUG on, so compose must turn it off"
    assert environ.Env.parse_value(env["DEBUG"], bool) is False
    # The host's own DEBUG must not switch it back on.
    env = resolved_environment(services[name], {"SECRET_KEY": "k", "ALLOWED_HOSTS": "h", "DEBUG": "1"})
    assert environ.Env.parse_value(env["DEBUG"], bool) is False


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_reach_postgres_redis_and_email(services, name):
    env = resolved_environment(services[name], {"SECRET_KEY": "k", "ALLOWED_HOSTS": "h"})
    db = environ.Env.db_url_config(env["DATABASE_URL"])
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert db["HOST"] in services and services[db["HOST"]]["image"].startswith("postgres:")
    postgres = resolved_environment(services[db["HOST"]], {})
    assert (db["USER"], db["PASSWORD"], db["NAME"]) == (
        postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"], postgres["POSTGRES_DB"],
    ), "DATABASE_URL must carry the credentials the db service is created with"
    # A password set on the host reaches both sides.
    env = resolved_environment(services[name], {"SECRET_KEY": "k", "ALLOWED_HOSTS": "h", "POSTGRES_PASSWORD": "pw"})
    assert environ.Env.db_url_config(env["DATABASE_URL"])["PASSWORD"] == "pw"
    assert resolved_environment(services[db["HOST"]], {"POSTGRES_PASSWORD": "pw"})["POSTGRES_PASSWORD"] == "pw"

    redis_host = re.match(r"redis://([^:/]+)", env["REDIS_URL"]).group(1)
    assert redis_host in services and services[redis_host]["image"].startswith("redis:")

    assert env["EMAIL_URL"], "EMAIL_URL needs a default"
    smtp = "smtp+tls://u:p@mail.example.org:587"
    assert resolved_environment(services[name], {"SECRET_KEY": "k", "ALLOWED_HOSTS": "h", "EMAIL_URL": smtp})["EMAIL_URL"] == smtp


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_wait_for_healthy_db_and_redis(services, name):
    depends_on = services[name].get("depends_on") or {}
    assert isinstance(depends_on, dict), "depends_on must use conditions, not a plain list"
    for dependency in ("db", "redis"):
        assert depends_on.get(dependency, {}).get("condition") == "service_healthy", f"{name} does not wait for {dependency}"
        assert services[dependency].get("healthcheck", {}).get("test"), f"{dependency} has no healthcheck to wait for"


def test_database_and_pdfs_survive_a_restart(compose, services):
    named_volumes = set(compose.get("volumes") or {})
    db_mounts = {mount.split(":")[1]: mount.split(":")[0] for mount in services["db"].get("volumes", [])}
    assert db_mounts.get("/var/lib/postgresql/data") in named_volumes, "PostgreSQL's data must live in a named volume"
    # PDFs are rendered by the worker and downloaded through web, so both see the same media folder.
    media_roots = {}
    for name in ("web", "worker"):
        media_root = resolved_environment(services[name], {"SECRET_KEY": "k", "ALLOWED_HOSTS": "h"})["MEDIA_ROOT"]
        mounts = {mount.split(":")[1]: mount.split(":")[0] for mount in services[name].get("volumes", [])}
        assert mounts.get(media_root) in named_volumes, f"{name}'s MEDIA_ROOT {media_root} is not on a named volume"
        media_roots[name] = (media_root, mounts[media_root])
    assert media_roots["web"] == media_roots["worker"]


def test_compose_environment_gives_a_production_configuration(services):
    env = resolved_environment(services["worker"], {"SECRET_KEY": "from-the-host", "ALLOWED_HOSTS": "mentoring.example.org"})
    got = settings_with(
        env, "DEBUG", "ALLOWED_HOSTS", "DATABASES", "CELERY_BROKER_URL", "CELERY_TASK_ALWAYS_EAGER", "EMAIL_BACKEND", "STORAGES"
    )
    assert got["DEBUG"] is False
    assert got["ALLOWED_HOSTS"] == ["mentoring.example.org"]
    assert got["DATABASES"]["default"]["ENGINE"] == "django.db.backends.postgresql"
    assert got["CELERY_BROKER_URL"] == "redis://redis:6379/0"
    assert got["CELERY_TASK_ALWAYS_EAGER"] is False, "in production, tasks must go to the worker"
    assert got["STORAGES"]["staticfiles"]["BACKEND"].startswith("whitenoise.")


# --- the image ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dockerfile():
    return dockerfile_instructions(ROOT / "Dockerfile")


def test_image_base_and_weasyprint_libraries(dockerfile):
    assert last(dockerfile, "FROM") == "python:3.11-slim-bookworm"
    installs = " ".join(args for instruction, args in dockerfile if instruction == "RUN" and "apt-get install" in args)
    missing = WEASYPRINT_DEBIAN_PACKAGES - set(installs.split())
    assert not missing, f"the image lacks what WeasyPrint needs to render PDFs: {sorted(missing)}"


def test_image_installs_the_project_and_imports_it_from_its_folder(dockerfile):
    runs = [args for instruction, args in dockerfile if instruction == "RUN"]
    assert any(re.search(r"pip install (\S+ )*\.(\s|$)", args) for args in runs), "the image must pip install the project"
    workdir = last(dockerfile, "WORKDIR")
    # Templates and static files sit next to the code in the project folder, not in site-packages.
    assert workdir in dockerfile_env(dockerfile).get("PYTHONPATH", "").split(":")


def pip_installs(dockerfile) -> list[tuple[int, list[str]]]:
    """(instruction index, pip arguments) of each `pip install` the image runs."""
    installs = []
    for index, (instruction, args) in enumerate(dockerfile):
        if instruction != "RUN":
            continue
        for command in re.split(r"&&|;", args):
            words = shlex.split(command)
            if words[:2] == ["pip", "install"] or words[:4] == ["python", "-m", "pip", "install"]:
                installs.append((index, words[words.index("install") + 1 :]))
    return installs


def test_image_installs_the_locked_dependencies_with_hashes_before_the_project(dockerfile):
    """Every build gets the versions in requirements/base.txt, file hashes checked, and nothing pip resolves itself."""
    installs = pip_installs(dockerfile)
    locked = [(index, args) for index, args in installs if "-r" in args]
    assert len(locked) == 1, f"the image must install the lock once, not {[args for _, args in installs]}"
    locked_index, locked_args = locked[0]
    assert locked_args[locked_args.index("-r") + 1] == "requirements/base.txt", "the image installs production's lock"
    assert "--require-hashes" in locked_args, "the lock must be installed with --require-hashes"
    copied_before = " ".join(args for instruction, args in dockerfile[:locked_index] if instruction in {"COPY", "ADD"})
    assert "requirements/base.txt" in copied_before.split(), "the lock must be copied in before it is installed"

    project = [(index, args) for index, args in installs if "." in args]
    assert len(project) == 1, "the image must pip install the project once"
    project_index, project_args = project[0]
    assert project_index > locked_index, "the locked dependencies go in before the project"
    assert "--no-deps" in project_args, "installing the project must not resolve dependencies the lock does not pin"
    assert [args for _, args in installs] == [locked_args, project_args], "the image installs nothing else"

    ignored = {line.strip().strip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert not ignored & {"requirements", "requirements/base.txt", "*.txt"}, ".dockerignore keeps the lock out of the image"


def test_image_runs_as_a_non_root_user(dockerfile):
    user = last(dockerfile, "USER")
    assert user and user.split(":")[0] not in {"root", "0"}
    user_index = max(i for i, (instruction, _) in enumerate(dockerfile) if instruction == "USER")
    assert not any(instruction == "USER" for instruction, _ in dockerfile[user_index + 1 :])


def test_image_collects_static_files_at_build_time(dockerfile, tmp_path):
    """Run the Dockerfile's own collectstatic step (with its throwaway settings) here."""
    steps = [args for instruction, args in dockerfile if instruction == "RUN" and "collectstatic" in args]
    assert len(steps) == 1, "the image must run collectstatic once"
    words = shlex.split(steps[0])
    assignments = dict(word.split("=", 1) for word in words[: words.index("python")] if "=" in word)
    assert environ.Env.parse_value(assignments.get("DEBUG", "1"), bool) is False, "collect with DEBUG off, as it runs"
    env = {
        "PATH": os.environ.get("PATH", ""),
        **{key: value for key, value in dockerfile_env(dockerfile).items() if key != "PYTHONPATH"},
        **assignments,
        "STATIC_ROOT": str(tmp_path / "static"),
    }
    command = [sys.executable if word == "python" else word for word in words[words.index("python") :]]
    proc = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"collectstatic would fail the image build:\n{proc.stderr}"
    manifest = json.loads((tmp_path / "static" / "staticfiles.json").read_text())
    assert "admin/css/base.css" in manifest["paths"], "WhiteNoise's manifest lacks the admin's stylesheet"


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_image():
    patterns = {line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip()}
    for needed in (".env", ".venv", ".git", "db.sqlite3", "media"):
        assert needed in patterns or f"/{needed}" in patterns, f".dockerignore does not exclude {needed}"


# --- the proxy in front of gunicorn -------------------------------------------------------------


NGINX_CONF = ROOT / "docker" / "nginx.conf"


def mounts_of(service: dict) -> dict[str, str]:
    """{path in the container: what is mounted there} (a named volume or a host path), without :ro."""
    return {mount.split(":")[1]: mount.split(":")[0] for mount in service.get("volumes", [])}


def nginx_directives(text: str) -> list[tuple[str, str]]:
    """(context, directive line) for each directive in docker/nginx.conf, the context being the enclosing block's
    heading ("server", "location /static/", ...); comments dropped."""
    found, stack = [], []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.endswith("{"):
            stack.append(line[:-1].strip())
        elif line == "}":
            stack.pop()
        else:
            found.append((stack[-1] if stack else "", line.rstrip(";")))
    return found


def test_only_nginx_is_published_and_gunicorn_is_reached_through_it(services):
    """Gunicorn's sync workers handle one connection each: a client that is slow to send its request, or keeps an
    idle connection open, holds a worker. nginx takes every connection and passes gunicorn whole requests."""
    proxy = services["proxy"]
    assert proxy["image"].startswith("nginx:")
    assert [port.split(":")[-1] for port in proxy["ports"]] == ["80"]
    assert "ports" not in services["web"], "web must not be published: clients would reach gunicorn directly"
    assert proxy["depends_on"]["web"]["condition"] == "service_healthy"
    assert services["web"]["healthcheck"]["test"], "proxy waits for web's health check"

    assert mounts_of(proxy)["/etc/nginx/conf.d/default.conf"] == "./docker/nginx.conf"
    assert NGINX_CONF.is_file()
    directives = nginx_directives(NGINX_CONF.read_text())
    assert ("upstream gunicorn", "server web:8000") in directives, "nginx must pass requests to gunicorn's --bind port"
    assert ("location /", "proxy_pass http://gunicorn") in directives
    assert ("server", "listen 80") in directives
    for off in ("proxy_buffering off", "proxy_request_buffering off"):
        assert not any(line == off for _, line in directives), f"{off}: gunicorn's workers would wait on clients"
    assert ("location /", "proxy_set_header X-Forwarded-Proto $forwarded_proto") in directives, (
        "the settings read X-Forwarded-Proto to tell HTTPS from HTTP")


def test_nginx_serves_the_static_files_web_collects(services):
    """collectstatic writes STATIC_ROOT in web (at build and at each start); nginx serves that same volume."""
    web_static_root = resolved_environment(services["web"], {"SECRET_KEY": "k", "ALLOWED_HOSTS": "h"})["STATIC_ROOT"]
    volume = mounts_of(services["web"])[web_static_root]
    proxy_mounts = {path: source for path, source in mounts_of(services["proxy"]).items() if source == volume}
    assert len(proxy_mounts) == 1, f"the proxy does not mount web's static volume {volume}"
    (mounted_at,) = proxy_mounts
    assert any(mount.endswith(":ro") for mount in services["proxy"]["volumes"] if mount.startswith(f"{volume}:"))
    directives = nginx_directives(NGINX_CONF.read_text())
    root = dict((context, line) for context, line in directives if line.startswith("root "))["location /static/"]
    # `root /srv` serves /static/x from /srv/static/x: the STATIC_URL under the root must be the mount.
    assert PurePosixPath(root.split()[1]) / "static" == PurePosixPath(mounted_at)
    text = (ROOT / "docker" / "web.sh").read_text()
    assert 0 <= text.find("manage.py collectstatic") < text.find("exec gunicorn"), (
        "web.sh must refresh the static volume (it keeps the files of the image it was made from) before serving")
