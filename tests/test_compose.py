"""The production compose file and image: every ``wtg`` command exists in the CLI, secrets
come only from files, Redis keeps its queue (AOF), services start in a safe order."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from wtg.cli import main

REPO = Path(__file__).resolve().parent.parent
COMPOSE: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text("utf-8"))
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
SECRETISH = re.compile(r"PASSWORD|SECRET|TOKEN|_KEY|DATABASE_URL|NOTIFY_URLS|API_KEY")
#: settings whose names look secret or end in _FILE but are plain paths
NOT_SECRETS = {"WTG_SECRETS_DIR", "WTG_SEASON_FILE"}


def argv(service: dict[str, Any]) -> list[str]:
    cmd = service.get("command", [])
    return shlex.split(cmd) if isinstance(cmd, str) else [str(c) for c in cmd]


def wtg_services() -> dict[str, list[str]]:
    return {name: argv(s)[1:] for name, s in SERVICES.items() if argv(s)[:1] == ["wtg"]}


def resolve(args: list[str]) -> click.Command:
    """Parse ``wtg <args>`` down the click tree like the real CLI does, without running it;
    raises click.UsageError for an unknown command or option."""
    command: click.Command = main
    ctx = main.make_context("wtg", list(args))
    while isinstance(command, click.Group):
        rest = [*ctx._protected_args, *ctx.args]
        if not rest:
            break
        name, sub, rest = command.resolve_command(ctx, rest)
        assert sub is not None and name is not None
        ctx = sub.make_context(name, rest, parent=ctx)
        command = sub
    return command


def test_expected_services_exist():
    """Redis, PostgreSQL, migration, two worker pools, scheduler, dashboard and Flower."""
    assert set(SERVICES) >= {"redis", "postgres", "migrate", "worker-media", "worker-publish",
                             "scheduler", "web", "flower"}
    assert wtg_services() == {
        "migrate": ["init"],
        "worker-media": ["worker", "-Q", "media", "-c", "2", "-n", "media@%h"],
        "worker-publish": ["worker", "-Q", "publish", "-c", "4", "-n", "publish@%h"],
        "scheduler": ["scheduler"],
        "web": ["web"],
    }


@pytest.mark.parametrize("service", sorted(wtg_services()))
def test_every_wtg_command_in_compose_exists_in_the_cli(service: str):
    """Each service's ``wtg ...`` command and options parse against the real click tree
    (scheduler and web are registered by their own modules)."""
    args = wtg_services()[service]
    try:
        command = resolve(args)
    except click.UsageError as exc:
        pytest.fail(f"service {service}: `wtg {' '.join(args)}` is not a wtg command: {exc}")
    assert not isinstance(command, click.Group), f"{service}: `wtg {args}` names only a group"


def test_resolve_rejects_unknown_commands_and_options():
    """The command check itself fails for a missing command or a misspelt option."""
    with pytest.raises(click.UsageError):
        resolve(["publish-everything"])
    with pytest.raises(click.UsageError):
        resolve(["worker", "--queue-name", "media"])
    assert resolve(["season", "load", "x.toml"]).name == "load"


def test_flower_uses_the_same_broker():
    """Flower watches the Redis the workers use."""
    env = SERVICES["migrate"]["environment"]
    assert f"--broker={env['WTG_BROKER_URL']}" in argv(SERVICES["flower"])
    assert "flower" in argv(SERVICES["flower"])


def test_redis_keeps_queued_tasks_on_a_volume():
    """Redis runs with the append-only file on, its data on a named volume."""
    cmd = argv(SERVICES["redis"])
    assert cmd[cmd.index("--appendonly") + 1] == "yes"
    mounts = SERVICES["redis"]["volumes"]
    assert any(m.split(":")[0] in COMPOSE["volumes"] and m.endswith(":/data") for m in mounts)
    pg = SERVICES["postgres"]["volumes"]
    assert any(m.split(":")[0] in COMPOSE["volumes"] for m in pg)


def environments() -> list[tuple[str, str, str]]:
    out = []
    for name, service in SERVICES.items():
        env = service.get("environment", {})
        if isinstance(env, list):
            env = dict(item.split("=", 1) for item in env)
        out += [(name, k, str(v)) for k, v in env.items()]
    return out


def test_no_secret_is_inline():
    """Secret-looking variables are *_FILE paths under /run/secrets; no value holds credentials."""
    envs = environments()
    assert envs
    for service, key, value in envs:
        if SECRETISH.search(key) and key not in NOT_SECRETS:
            assert key.endswith("_FILE"), f"{service}: {key} inline; use {key}_FILE"
            assert value.startswith("/run/secrets/"), f"{service}: {key}={value}"
        assert not re.search(r"://[^/\s:@]+:[^/\s@]+@", value), f"{service}: {key} has a password"
    text = (REPO / "docker-compose.yml").read_text("utf-8")
    assert not re.search(r"://[^/\s:@]+:[^<\s@]+@", text.replace("<the postgres password>", ""))


def test_every_secret_file_is_declared_and_mounted():
    """A *_FILE path names a secret that is defined as a file and given to that service."""
    declared = COMPOSE["secrets"]
    assert all(set(spec) == {"file"} and spec["file"].startswith("./secrets/")
               for spec in declared.values())
    for service, key, value in environments():
        if key.endswith("_FILE") and key not in NOT_SECRETS:
            secret = value.removeprefix("/run/secrets/")
            assert secret in declared, f"{service}: {key} names undeclared secret {secret}"
            assert secret in SERVICES[service].get("secrets", []), f"{service} lacks {secret}"


def test_account_secrets_cover_the_example_accounts():
    """Every account in config/wtg.example.toml gets at least one credential file."""
    import tomllib

    example = tomllib.loads((REPO / "config" / "wtg.example.toml").read_text("utf-8"))
    keys = {k for _s, k, _v in environments()}
    for account in example["accounts"]:
        prefix = "WTG_ACCOUNT_" + account["name"].upper().replace("-", "_") + "_"
        assert any(k.startswith(prefix) for k in keys), account["name"]


def test_healthchecks_and_start_order():
    """Long-running services have healthchecks; wtg services wait for a successful migration
    and healthy databases; the migration waits for PostgreSQL; every condition is explicit."""
    for name in ("redis", "postgres", "worker-media", "worker-publish", "web", "flower"):
        assert SERVICES[name].get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
    for name, service in SERVICES.items():
        deps = service.get("depends_on", {})
        assert isinstance(deps, dict), f"{name}: depends_on without conditions"
        for target, spec in deps.items():
            assert target in SERVICES, f"{name} depends on unknown {target}"
            assert spec.get("condition") in {"service_healthy", "service_completed_successfully"}
    for name in wtg_services():
        deps = SERVICES[name]["depends_on"]
        if name == "migrate":
            assert deps == {"postgres": {"condition": "service_healthy"}}
            assert SERVICES[name]["restart"] == "no"
        else:
            assert deps["migrate"]["condition"] == "service_completed_successfully"
            assert deps["postgres"]["condition"] == "service_healthy"
            assert deps["redis"]["condition"] == "service_healthy"


def test_every_long_running_service_restarts():
    """Everything but the one-shot migration comes back after a crash or a host reboot
    (``restart: unless-stopped``); `wtg worker` additionally restarts its Celery worker itself."""
    for name, service in SERVICES.items():
        if name == "migrate":
            assert service["restart"] == "no"
        else:
            assert service.get("restart") == "unless-stopped", f"{name} has no restart policy"


def test_web_healthcheck_uses_the_anonymous_probe():
    """The dashboard's healthcheck calls /healthz (the one page that needs no login)."""
    assert "/healthz" in " ".join(SERVICES["web"]["healthcheck"]["test"])


def test_only_loopback_ports_are_published():
    """Dashboard and Flower listen on 127.0.0.1 only; Redis and PostgreSQL not at all."""
    for name, service in SERVICES.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port}"
    assert "ports" not in SERVICES["redis"] and "ports" not in SERVICES["postgres"]


def test_dockerfile_is_slim_non_root_and_installs_the_package():
    """python:3.11-slim base, `pip install .`, a non-root USER, no secrets baked in."""
    text = (REPO / "Dockerfile").read_text("utf-8")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    assert lines[0] == "FROM python:3.11-slim"
    assert re.search(r"pip install \.(\s|$)", text)
    users = [ln.split()[1] for ln in lines if ln.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert not re.search(r"(?i)(token|secret|password|key)=", text)  # WTG_SECRETS_DIR is a path
    copied = {ln.split()[1] for ln in lines if ln.startswith("COPY ") and "--from" not in ln}
    for package in ("config", "episodes", "workers", "scheduler", "dashboard", "sandbox", "wtg"):
        assert package in copied, f"Dockerfile does not copy {package}"


def test_dockerignore_keeps_local_data_and_secrets_out():
    """The build context excludes the venv, git, local data and secret files."""
    ignored = set((REPO / ".dockerignore").read_text("utf-8").split())
    assert {".git", ".venv", "var", "secrets", ".env"} <= ignored
