"""A real single-node SLURM cluster on localhost, for tests: munged, slurmctld and slurmd.

Everything lives in one temporary folder: a generated ``slurm.conf``, the state, spool,
pid and log files, and munge's socket (so the cluster touches no system-wide daemon and
two clusters can run side by side on free ports). Client commands find it through
``SLURM_CONF``. Needs Debian's ``slurm-wlm`` and ``munge`` and root (SlurmUser=root).
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "sinfo", "squeue", "srun")
MUNGE_KEY = Path("/etc/munge/munge.key")


def missing_binaries() -> list[str]:
    """The daemons and client commands that are not installed (empty: a cluster can start)."""
    missing = [name for name in (*DAEMONS, *CLIENTS) if shutil.which(name) is None
               and not Path("/usr/sbin", name).is_file()]
    return missing + ([str(MUNGE_KEY)] if not MUNGE_KEY.is_file() else [])


def slurm_conf(folder: Path, host: str, ports: tuple[int, int], cpus: int) -> str:
    """The keys of a one-node cluster whose files all live in ``folder``."""
    return "\n".join([
        "ClusterName=aliopt-test",
        f"SlurmctldHost={host}(127.0.0.1)",
        f"SlurmctldPort={ports[0]}",
        f"SlurmdPort={ports[1]}",
        "SlurmUser=root",
        "SlurmdUser=root",
        "AuthType=auth/munge",
        "CredType=cred/munge",
        f"AuthInfo=socket={folder / 'munge.socket'}",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "JobAcctGatherType=jobacct_gather/none",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core",
        "MpiDefault=none",
        "ReturnToService=2",
        f"StateSaveLocation={folder / 'state'}",
        f"SlurmdSpoolDir={folder / 'spool'}",
        f"SlurmctldPidFile={folder / 'slurmctld.pid'}",
        f"SlurmdPidFile={folder / 'slurmd.pid'}",
        f"SlurmctldLogFile={folder / 'slurmctld.log'}",
        f"SlurmdLogFile={folder / 'slurmd.log'}",
        f"NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} State=UNKNOWN",
        f"PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP",
        "",
    ])


@contextmanager
def slurm_cluster(folder: Path, cpus: int = 2, timeout_s: float = 60.0) -> Iterator[dict]:
    """Start the cluster in ``folder``, wait for its node to be idle, yield the environment
    the client commands need (``SLURM_CONF``), and stop the daemons by their pid files."""
    folder = Path(folder).absolute()
    folder.chmod(0o700)  # munged refuses a socket in a folder others can write to
    for name in ("state", "spool"):
        (folder / name).mkdir()
    host = socket.gethostname().split(".")[0]
    conf = folder / "slurm.conf"
    conf.write_text(slurm_conf(folder, host, (_free_port(), _free_port()), cpus))
    env = {**os.environ, "SLURM_CONF": str(conf)}
    pid_files = []
    try:
        _start(["munged", "--force", f"--socket={folder / 'munge.socket'}", f"--pid-file={folder / 'munged.pid'}",
                f"--log-file={folder / 'munged.log'}", f"--seed-file={folder / 'munged.seed'}"], env)
        pid_files.append(folder / "munged.pid")
        _start(["slurmctld", "-f", str(conf)], env)
        pid_files.append(folder / "slurmctld.pid")
        _start(["slurmd", "-f", str(conf)], env)
        pid_files.append(folder / "slurmd.pid")
        _wait_idle(env, folder, timeout_s)
        yield {"SLURM_CONF": str(conf)}
    finally:
        for pid_file in reversed(pid_files):
            _stop(pid_file)


def _start(command: list[str], env: dict) -> None:
    answer = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    if answer.returncode != 0:
        raise RuntimeError(f"{command[0]} did not start (status {answer.returncode}): {answer.stderr.strip()}")


def _wait_idle(env: dict, folder: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    state = ""
    while time.monotonic() < deadline:
        answer = subprocess.run(["sinfo", "--noheader", "--format=%t"], env=env, capture_output=True, text=True)
        state = answer.stdout.strip() or answer.stderr.strip()
        if answer.returncode == 0 and state == "idle":
            return
        time.sleep(0.5)
    logs = {name: (folder / name).read_text()[-2000:] for name in ("slurmctld.log", "slurmd.log")
            if (folder / name).is_file()}
    raise RuntimeError(f"the SLURM node was not idle after {timeout_s:.0f} s (last sinfo: {state!r}); logs: {logs}")


def _stop(pid_file: Path, timeout_s: float = 20.0) -> None:
    """SIGTERM the daemon whose pid ``pid_file`` holds, and wait for it to exit."""
    for _ in range(50):  # a daemon writes its pid file just after forking
        if pid_file.is_file() and pid_file.read_text().strip():
            break
        time.sleep(0.1)
    else:
        return
    pid = int(pid_file.read_text().split()[0])
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
