#!/usr/bin/env python
"""Run `lem-keras tune` as one KerasTuner chief and N workers on this machine (127.0.0.1).

    python tuning/launch_distributed.py --workers 2 -- --data DIR --format semeval --out runs/t

Everything after ``--`` goes to every `lem-keras tune` process. The chief serves the oracle
on a free loopback port and, once all trials are done, writes OUT/trials.md and the best
model; each worker runs trials. Logs: OUT/distributed/<tuner id>.log. Ctrl-C or a failing
process stops them all. For several machines, run the same command by hand on each with
KERASTUNER_TUNER_ID / KERASTUNER_ORACLE_IP / KERASTUNER_ORACLE_PORT set (see README.md).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, host: str = "127.0.0.1", timeout: float = 120.0, process=None) -> None:
    """Block until something accepts TCP connections on ``host:port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process {process.pid} exited ({process.returncode}) before listening")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.5)
            if sock.connect_ex((host, port)) == 0:
                return
        time.sleep(0.3)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=2, help="number of worker processes")
    parser.add_argument("--port", type=int, default=0, help="oracle port on 127.0.0.1 (0: a free one)")
    parser.add_argument("--timeout", type=float, default=None, help="seconds before everything is killed")
    parser.add_argument("tune_args", nargs=argparse.REMAINDER, help="-- then `lem-keras tune` options")
    args = parser.parse_args(argv)
    tune_args = [a for a in args.tune_args if a != "--"] if args.tune_args[:1] == ["--"] else args.tune_args
    if "--out" not in tune_args:
        parser.error("pass --out DIR to lem-keras tune after --")
    out = Path(tune_args[tune_args.index("--out") + 1])
    logs = out / "distributed"
    logs.mkdir(parents=True, exist_ok=True)
    port = args.port or free_port()
    command = [sys.executable, "-m", "lem_keras.cli", "tune", *tune_args]
    processes: dict[str, subprocess.Popen] = {}

    def start(tuner_id: str) -> subprocess.Popen:
        env = dict(os.environ, KERASTUNER_TUNER_ID=tuner_id, KERASTUNER_ORACLE_IP="127.0.0.1",
                   KERASTUNER_ORACLE_PORT=str(port))
        with open(logs / f"{tuner_id}.log", "wb") as log:
            processes[tuner_id] = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        return processes[tuner_id]

    deadline = None if args.timeout is None else time.monotonic() + args.timeout
    try:
        chief = start("chief")
        wait_for_port(port, timeout=300, process=chief)
        for index in range(args.workers):
            start(f"tuner{index}")
        print(f"chief + {args.workers} workers on 127.0.0.1:{port}; logs in {logs}", file=sys.stderr)
        while any(p.poll() is None for p in processes.values()):
            failed = [name for name, p in processes.items() if p.poll() not in (None, 0)]
            if failed:
                raise RuntimeError(f"{', '.join(failed)} failed; see {logs}")
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"still running after {args.timeout:.0f} s")
            time.sleep(1.0)
        failed = [name for name, p in processes.items() if p.returncode != 0]
        if failed:
            raise RuntimeError(f"{', '.join(failed)} failed; see {logs}")
    except (KeyboardInterrupt, RuntimeError, TimeoutError) as error:
        print(f"launch_distributed: {error or 'interrupted'}", file=sys.stderr)
        return 1
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    sys.stdout.write((out / "trials.md").read_text("utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
