"""The ``fake-azure`` command: up, serve, down, status, ps, reset, images, prune, aks, run."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from fake_azure import __version__
from fake_azure.settings import SettingsError

from . import daemon
from .settings import DaemonSettings
from .socket_folder import remove_temp_socket_folder


def _settings() -> DaemonSettings:
    try:
        return DaemonSettings.from_env()
    except (SettingsError, ValueError) as exc:
        raise SystemExit(f"fake-azure: {exc}") from None


def cmd_up(args: argparse.Namespace) -> int:
    settings = _settings()
    began = time.perf_counter()
    info, started = daemon.ensure_running(settings)
    took = time.perf_counter() - began
    verb = f"started in {took:.2f}s" if started else "already running"
    print(info["url"])
    print(f"fake-azure: {verb} (pid {info['pid']}, home {info['home']})", file=sys.stderr)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    settings = _settings()
    live = daemon.serving_info(settings)
    if live:
        print(f"fake-azure: a daemon already serves this home at {live['url']} (pid {live['pid']})",
              file=sys.stderr)
        return 1
    daemon.serve(settings)
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    settings = _settings()
    if daemon.stop(settings):
        print("fake-azure: stopped", file=sys.stderr)
    else:
        print("fake-azure: not running", file=sys.stderr)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    settings = _settings()
    info = daemon.read_info(settings) or {}  # info also tells a dead daemon's settings
    running = bool(info) and daemon.is_healthy(info["url"])
    status = {
        "running": running,
        "url": info["url"] if running else None,
        "arm_url": info.get("armUrl") if running else None,  # the SDK v2 front end (HTTPS)
        "pid": info["pid"] if running else None,
        "home": str(settings.home),
        "runtime": (info or {}).get("runtime", settings.runtime),
        "progress": (info or {}).get("progress", settings.progress),
        "version": __version__,
    }
    status["gpus"] = (info or {}).get("gpus")
    status["gpu_policy"] = (info or {}).get("gpuPolicy", settings.gpu_policy)
    status["notes"] = (info or {}).get("notes", []) if running else []
    if args.json:
        print(json.dumps(status, indent=2))
    elif running:
        print(f"fake-azure {__version__}: running at {status['url']} (pid {status['pid']})")
        print(f"  home:     {status['home']}")
        if status["arm_url"]:
            print(f"  SDK v2:   {status['arm_url']} (ARM over HTTPS; fake_azure.activate() points azure-ai-ml here)")
        print(f"  runtime:  {status['runtime']}")
        print(f"  progress: {status['progress']}")
        print(f"  GPUs:     {status['gpus']} on the replicas' host (policy {status['gpu_policy']})")
        for note in status["notes"]:
            print(f"  note:     {note}")
    else:
        print(f"fake-azure {__version__}: not running (home {status['home']})")
    return 0 if running else 3


def cmd_reset(args: argparse.Namespace) -> int:
    settings = _settings()
    if daemon.serving_info(settings):
        from fake_azure._client import CloudClient

        CloudClient.connect(settings).admin("POST", "/_emulator/reset")
    else:
        for path in (settings.db_path, Path(str(settings.db_path) + "-wal"), Path(str(settings.db_path) + "-shm")):
            path.unlink(missing_ok=True)
        remove_temp_socket_folder(settings.home)
    print("fake-azure: state reset", file=sys.stderr)
    return 0


def cmd_ps(args: argparse.Namespace) -> int:
    """One line per deployment of every workspace, as ``docker ps`` lists containers."""
    settings = _settings()
    if not daemon.serving_info(settings):
        if args.json:
            print("[]")
        print(f"fake-azure: not running (home {settings.home}): no deployments run", file=sys.stderr)
        return 0
    from fake_azure._client import CloudClient

    listed = CloudClient.connect(settings).admin("GET", "/_emulator/deployments")["value"]
    if args.json:
        print(json.dumps(listed, indent=2))
        return 0
    if not listed:
        print("no deployments")
        return 0
    rows = [(d["workspace"], f"{d['sdk']} {d['kind']} {d['name']}", d["compute"], d["state"],
             f"{d['replicas']['running']}/{d['replicas']['desired']}", d["scoringUri"] or "-") for d in listed]
    header = ("WORKSPACE", "DEPLOYMENT", "COMPUTE", "STATE", "REPLICAS", "SCORING URI")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1])
    return 0


def _runtime_use(settings: DaemonSettings) -> dict[str, Any]:
    """The daemon's environments in use (none when it is not running), with its replicas per environment."""
    if not daemon.serving_info(settings):
        return {"environmentsInUse": [], "replicasByEnvironment": {}, "daemonInterpreter": None}
    from fake_azure._client import CloudClient

    return CloudClient.connect(settings).admin("GET", "/_emulator/runtime")


def _in_use(settings: DaemonSettings) -> list[str]:
    return list(_runtime_use(settings)["environmentsInUse"])


def cmd_images(args: argparse.Namespace) -> int:
    from .runtimes.inventory import is_in_use, list_environments

    settings = _settings()
    entries = list_environments(settings)
    use = _runtime_use(settings)
    in_use = list(use["environmentsInUse"])
    for entry in entries:
        entry["in_use"] = is_in_use(entry, in_use)
    # Replicas on no listed environment: the daemon's own interpreter (it satisfied their environments, so
    # nothing was built), or an interpreter fake-azure did not build. Said, so that "unused" is not read as
    # "nothing runs".
    interpreters = [{"kind": "interpreter", "reference": reference, "in_use": True, "replicas": count,
                     "daemon": reference == use.get("daemonInterpreter")}
                    for reference, count in sorted((use.get("replicasByEnvironment") or {}).items())
                    if not any(entry["digest"] in reference for entry in entries)]
    if args.json:
        print(json.dumps(entries + interpreters, indent=2))
        return 0
    if not entries:
        print("no built environments (the daemon's own interpreter serves replicas that it satisfies)")
    for entry in entries:
        used = "in use" if entry["in_use"] else "unused"
        detail = f"python {entry.get('python')}" if entry["kind"] == "venv" else entry.get("tag", "")
        print(f"{entry['kind']:<6}{entry['digest']:<20}{detail:<28}{entry.get('size_mb', '?'):>8} MB  {used}")
    for interpreter in interpreters:
        where = "the daemon's interpreter" if interpreter["daemon"] else "the interpreter"
        print(f"{interpreter['replicas']} replica(s) run on {where} {interpreter['reference']} (nothing built)")
    return 0


def cmd_prune(args: argparse.Namespace) -> int:
    from .runtimes.inventory import prune

    settings = _settings()
    removed = prune(settings, _in_use(settings))
    for line in removed:
        print(f"removed {line}")
    print(f"fake-azure: pruned {len(removed)} environment(s)", file=sys.stderr)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        print("fake-azure run: give a command, e.g. fake-azure run -- python deploy.py", file=sys.stderr)
        return 2
    settings = _settings()
    if settings.target == "emulator":
        daemon.ensure_running(settings)
    bootstrap = Path(__file__).resolve().parent.parent / "fake_azure" / "_bootstrap"
    env = dict(os.environ)
    env["FAKE_AZURE_HOME"] = str(settings.home)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(bootstrap), env.get("PYTHONPATH")) if p)
    # "python" in the command means the interpreter fake-azure is installed in, as in an active venv.
    env["PATH"] = os.pathsep.join(p for p in (os.path.dirname(sys.executable), env.get("PATH")) if p)
    if settings.target == "emulator":
        from fake_azure.trust import VARIABLE, bundle_for

        # Not only activated Python children: curl, other languages and requests without activation
        # verify the https scoring URIs of SSL clusters too (the home's CA added to the roots trusted so far).
        env[VARIABLE] = str(bundle_for(settings.home, env.get(VARIABLE) or env.get("CURL_CA_BUNDLE")))
    try:
        return subprocess.call(command, env=env)
    except FileNotFoundError:
        print(f"fake-azure run: command not found: {command[0]}", file=sys.stderr)
        return 127


def cmd_aks(args: argparse.Namespace) -> int:
    """Managed AKS clusters outside any workspace, as ``az aks create`` makes them: SDK v2 attaches one with
    ``KubernetesCompute(resource_id=...)``."""
    from fake_azure._client import CloudClient

    from .resources.admin.clusters import resource_id

    settings = _settings()
    daemon.ensure_running(settings)
    client = CloudClient.connect(settings)
    try:
        if args.aks_verb == "create":
            body = client.admin("PUT", "/_emulator/managedClusters", json={
                "subscriptionId": args.subscription, "resourceGroup": args.resource_group, "name": args.name,
                "vmSize": args.node_vm_size, "nodeCount": args.node_count, "location": args.location})
            print(body["id"])
        elif args.aks_verb == "list":
            for cluster in client.admin("GET", "/_emulator/managedClusters")["value"]:
                pool = cluster["properties"]["agentPoolProfiles"][0]
                print(f"{cluster['id']}  {pool['vmSize']} x{pool['count']}")
        else:
            client.admin("DELETE", "/_emulator/managedClusters",
                         params={"id": resource_id(args.subscription, args.resource_group, args.name)})
    except Exception as exc:  # the client's SDK-shaped exception (the daemon imports no facade code)
        print(f"fake-azure aks {args.aks_verb}: {getattr(exc, 'message', None) or exc}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fake-azure", description="A local cloud for Azure ML SDK v1 deploy code.")
    parser.add_argument("--version", action="version", version=f"fake-azure {__version__}")
    sub = parser.add_subparsers(dest="verb", required=True)
    sub.add_parser("up", help="start the daemon in the background and print its URL").set_defaults(func=cmd_up)
    sub.add_parser("serve", help="run the daemon in the foreground").set_defaults(func=cmd_serve)
    sub.add_parser("down", help="stop the daemon").set_defaults(func=cmd_down)
    status = sub.add_parser("status", help="is the daemon running, where, with what")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(func=cmd_status)
    ps = sub.add_parser("ps", help="list the deployments of every workspace: state, replicas, scoring URI")
    ps.add_argument("--json", action="store_true", help="machine-readable output")
    ps.set_defaults(func=cmd_ps)
    sub.add_parser("reset", help="forget every workspace, model and cluster").set_defaults(func=cmd_reset)
    images = sub.add_parser("images", help="list built replica environments (venvs, images)")
    images.add_argument("--json", action="store_true", help="machine-readable output")
    images.set_defaults(func=cmd_images)
    sub.add_parser("prune", help="remove built environments no running service uses").set_defaults(func=cmd_prune)
    aks = sub.add_parser("aks", help="AKS clusters outside any workspace, for SDK v2's KubernetesCompute")
    aks_sub = aks.add_subparsers(dest="aks_verb", required=True)
    for verb in ("create", "delete"):
        parser_ = aks_sub.add_parser(verb, help=f"{verb} a managed cluster")
        parser_.add_argument("--name", "-n", required=True)
        parser_.add_argument("--resource-group", "-g", required=True)
        parser_.add_argument("--subscription", default="00000000-0000-0000-0000-000000000000")
        if verb == "create":
            parser_.add_argument("--node-vm-size", "-s", default="Standard_DS2_v2")
            parser_.add_argument("--node-count", "-c", type=int, default=3)
            parser_.add_argument("--location", "-l", default="eastus")
    aks_sub.add_parser("list", help="list the managed clusters")
    aks.set_defaults(func=cmd_aks)
    run = sub.add_parser("run", help="run a program with azureml.core resolved to the emulator")
    run.add_argument("command", nargs=argparse.REMAINDER)
    run.set_defaults(func=cmd_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except daemon.DaemonError as exc:
        print(f"fake-azure: {exc.message}", file=sys.stderr)
        return 1
