#!/usr/bin/env python3
"""Times a command, or counts what it prints, for bench/offline.sh.

  run_timed.py time [--runs N] -- COMMAND...
      Runs COMMAND N times (default 1) with stdout to /dev/null and prints
      "WALL_SECONDS CPU_SECONDS" of the run with the best wall time, where CPU
      is the child's user+sys time (from wait4, so it includes its threads).

  run_timed.py count [--match TEXT] -- COMMAND...
      Runs COMMAND once and prints how many lines it wrote to stdout, or how
      many times TEXT occurs in its stdout.

Exits with the command's status (after printing its stderr) if it fails.
"""

import os
import subprocess
import sys
import tempfile
import time

READ_CHUNK_BYTES = 1 << 20


def fail(message: str) -> None:
    print(message, file=sys.stderr)
    sys.exit(2)


def parse(argv: list[str]) -> tuple[str, dict[str, str], list[str]]:
    if len(argv) < 1 or argv[0] not in ("time", "count"):
        fail(__doc__ or "")
    mode, options, rest = argv[0], {}, argv[1:]
    while rest and rest[0] != "--":
        if len(rest) < 2 or rest[0] not in ("--runs", "--match"):
            fail(f"Cannot parse arguments: {' '.join(rest)}")
        options[rest[0]] = rest[1]
        rest = rest[2:]
    if not rest or len(rest) < 2:
        fail("Cannot parse arguments: no command after --")
    return mode, options, rest[1:]


def report_failure(command: list[str], status: int, stderr_file) -> None:
    stderr_file.seek(0)
    sys.stderr.write(stderr_file.read().decode(errors="replace")[-4000:])
    print(f"Cannot run {' '.join(command)}: exit status {status}", file=sys.stderr)
    sys.exit(status if status > 0 else 1)


def time_once(command: list[str]) -> tuple[float, float]:
    with tempfile.TemporaryFile() as stderr_file, open(os.devnull, "wb") as null:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=null, stderr=stderr_file)
        _, wait_status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(wait_status)
        if child.returncode != 0:
            report_failure(command, child.returncode, stderr_file)
        return wall, usage.ru_utime + usage.ru_stime


def count_output(command: list[str], match: str | None) -> int:
    needle = b"\n" if match is None else match.encode()
    count = 0
    tail = b""
    with tempfile.TemporaryFile() as stderr_file:
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr_file)
        assert child.stdout is not None
        while chunk := child.stdout.read(READ_CHUNK_BYTES):
            # Carry the last len(needle)-1 bytes (too short to hold a whole match) into the next
            # chunk, so a match split across two chunks is counted exactly once.
            data = tail + chunk
            count += data.count(needle)
            keep = len(needle) - 1
            tail = data[-keep:] if keep else b""
        status = child.wait()
        if status != 0:
            report_failure(command, status, stderr_file)
    return count


def main() -> None:
    mode, options, command = parse(sys.argv[1:])
    if mode == "time":
        runs = int(options.get("--runs", "1"))
        if runs < 1:
            fail("Cannot parse arguments: --runs must be at least 1")
        best = min((time_once(command) for _ in range(runs)), key=lambda run: run[0])
        print(f"{best[0]:.3f} {best[1]:.3f}")
    else:
        print(count_output(command, options.get("--match")))


if __name__ == "__main__":
    main()
