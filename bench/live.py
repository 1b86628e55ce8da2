#!/usr/bin/env python3
"""snout's live capture benchmark: snout beside tcpdump on a veth pair, at line rate.

Usage (as root): python3 bench/live.py [--count N] [--rates LIST] [--buffer KIB] [--only NAMES]
                                       [--pause SECONDS] [--rounds N]
  --count N     packets the generator sends for each run (default 2000000)
  --rates LIST  comma-separated send rates: "full" (as fast as trafgen goes) or packets/s
                such as 200000 (default "full,200000")
  --buffer KIB  ring/buffer size given to every sniffer as -B (default 32768, snout's default)
  --only NAMES  comma-separated sniffer names to run (default: all of them)
  --pause SECONDS  wait before each run (default 3), so that every sniffer builds its ring as at
                a fresh start; see below
  --rounds N    run every sniffer N times, in turn, at each rate (default 1), and show for each
                the run of median CPU, with the CPU of every round beside it and the most frames
                any round dropped: one sniffer's CPU moves by 10-20% from run to run here

It makes two network namespaces joined by a veth pair (snout-b-PID-a and snout-b-PID-b), runs
trafgen (Debian's netsniff-ng) in B sending 64-byte UDP frames (60 bytes captured) to a MAC
address that is nobody's, so A's kernel drops them as soon as the sniffers have seen them, and
runs each sniffer in turn on vethA, in A. 1% of the frames go to UDP port 9, for the filtered
rows. A run: wait --pause seconds, start the sniffer, wait until it has said "listening on", send
the packets, wait for the ring's block timeout, stop the sniffer with SIGINT, read its closing
counters.

Why the pause: building a 32 MiB ring costs the kernel 60-120 ms of CPU (system time) when its
pages come from memory a VM has reported free to its host, and 7-15 ms when they come from a ring
freed a moment before (measured on the 2-CPU VM of README.md, whose free page reporting runs 2 s
after memory is freed). Without a pause, whether a sniffer's ring is cheap depends on which
sniffer ran before it; with it, every ring is built as on a fresh start.

Printed, one row per sniffer and rate, from one run of the script: packets sent (trafgen),
arrived at vethA (its rx_packets), captured and dropped by kernel (the sniffer's own closing
lines), CPU seconds (user+sys of the sniffer and all its threads, from wait4) and CPU
seconds per million packets sent. The namespaces are deleted at the end, even on failure or
Ctrl-C. Needs root, deno, trafgen, tcpdump and ip; installs nothing.
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PREFIX = f"snout-b-{os.getpid()}-"
NS_A, NS_B = PREFIX + "a", PREFIX + "b"
ADDRESS_A, ADDRESS_B = "10.99.0.1", "10.99.0.2"
# Frames go to a unicast MAC that no interface has: A's kernel drops them as "other host".
NOBODY_MAC = "02:00:00:00:00:99"
# Every frame goes to one of 100 ports; port 9 is 1% of them.
FILTER_PORT = 9
PORTS = 100
FILTER = f"udp dst port {FILTER_PORT}"
START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 60
SETTLE_S = 0.3
# snout's ring hands a block that is not full over after 50 ms; wait for that and more.
AFTER_SEND_S = 0.5
SNOUT = ["deno", "run", "--allow-ffi", "--allow-read", "--allow-write", "--allow-env",
         os.path.join(ROOT, "cli.ts")]
DENO_FLOOR = ["deno", "run", "--allow-ffi", os.path.join(ROOT, "bench", "deno_floor.ts")]


def sniffers(buffer_kib: int) -> list[tuple[str, list[str], dict[str, str]]]:
    """Name, command and extra environment of every sniffer, captured on vethA."""
    b = ["-B", str(buffer_kib)]
    utc = {"TZ": "UTC"}
    return [
        ("tcpdump -w /dev/null", ["tcpdump", "-i", "vethA", "-Z", "root", *b, "-w", "/dev/null"], {}),
        ("TZ=UTC tcpdump -n", ["tcpdump", "-i", "vethA", "-n", *b], utc),
        ("snout -w /dev/null", [*SNOUT, "-i", "vethA", *b, "-w", "/dev/null"], {}),
        # Not snout: the least a Deno program does of -w's work (ring, walk, writev), to show
        # what the runtime costs before snout's own code; its pcap goes to stdout, /dev/null.
        ("deno floor (bench/deno_floor.ts)", [*DENO_FLOOR, "-i", "vethA", *b], {}),
        ("snout (summaries)", [*SNOUT, "-i", "vethA", *b], {}),
        ("snout --json", [*SNOUT, "-i", "vethA", *b, "--json"], {}),
        ("snout --json --workers 2", [*SNOUT, "-i", "vethA", *b, "--json", "--workers", "2"], {}),
        ("snout --json --no-ring", [*SNOUT, "-i", "vethA", *b, "--json", "--no-ring"], {}),
        # A filter that matches 1% of the frames: the kernel drops the rest before the ring.
        (f"TZ=UTC tcpdump -n {FILTER}", ["tcpdump", "-i", "vethA", "-n", *b, *FILTER.split()], utc),
        (f"snout --json {FILTER}", [*SNOUT, "-i", "vethA", *b, "--json", *FILTER.split()], {}),
    ]


def run(*command: str, check: bool = True) -> str:
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {result.stderr.strip()}")
    return result.stdout


def make_namespaces() -> None:
    run("ip", "netns", "add", NS_A)
    run("ip", "netns", "add", NS_B)
    # The veth is made inside A: the host's own interfaces are never touched.
    run("ip", "-n", NS_A, "link", "add", "vethA", "type", "veth", "peer", "name", "vethB",
        "netns", NS_B)
    run("ip", "-n", NS_A, "addr", "add", f"{ADDRESS_A}/24", "dev", "vethA")
    run("ip", "-n", NS_B, "addr", "add", f"{ADDRESS_B}/24", "dev", "vethB")
    for ns, dev in ((NS_A, "vethA"), (NS_B, "vethB"), (NS_A, "lo"), (NS_B, "lo")):
        run("ip", "-n", ns, "link", "set", dev, "up")
    # No IPv6 chatter (router solicitations, MLD) during the runs.
    for ns in (NS_A, NS_B):
        run("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")


def delete_namespaces() -> None:
    for ns in (NS_A, NS_B):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def traffic_config(mac_b: str) -> str:
    return (
        "{\n"
        f"  eth(da={NOBODY_MAC}, sa={mac_b}, type=0x0800),\n"
        f"  ipv4(saddr={ADDRESS_B}, daddr=10.99.0.3, ttl=64),\n"
        f"  udp(sp=dinc(1024, 60000), dp=dinc({FILTER_PORT}, {FILTER_PORT + PORTS - 1})),\n"
        "  fill(0x00, 18)\n"
        "}\n"
    )


def rx_packets() -> int:
    return int(run("ip", "netns", "exec", NS_A, "cat", "/sys/class/net/vethA/statistics/rx_packets"))


def counter(stderr: str, what: str) -> int | None:
    found = re.findall(rf"^(\d+) packets? {what}$", stderr, re.MULTILINE)
    return int(found[-1]) if found else None


def one_run(name: str, command: list[str], env: dict[str, str], config: str, count: int,
            rate: str) -> dict:
    with tempfile.TemporaryFile() as err:
        child = subprocess.Popen(
            ["ip", "netns", "exec", NS_A, *command],
            stdout=subprocess.DEVNULL, stderr=err, env={**os.environ, "NO_COLOR": "1", **env},
        )
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while True:
                err.seek(0)
                if b"listening on" in err.read():
                    break
                if child.poll() is not None or time.monotonic() > deadline:
                    err.seek(0)
                    raise RuntimeError(f"{name} did not start: {err.read().decode()[-500:]}")
                time.sleep(0.05)
            time.sleep(SETTLE_S)
            before = rx_packets()
            generator = ["ip", "netns", "exec", NS_B, "trafgen", "-i", config, "-o", "vethB",
                         "-n", str(count), "-P", "1", "--no-sock-mem", "--notouch-irq"]
            if rate != "full":
                generator += ["-b", f"{rate}pps"]
            started = time.monotonic()
            subprocess.run(generator, capture_output=True, check=True,
                           timeout=max(120, 3 * count / 100000))
            send_seconds = time.monotonic() - started
            time.sleep(AFTER_SEND_S)
            arrived = rx_packets() - before
            child.send_signal(signal.SIGINT)
            _, status, usage = os.wait4(child.pid, 0)
            child.returncode = os.waitstatus_to_exitcode(status)
        except BaseException:
            if child.poll() is None:
                child.kill()
                child.wait()
            raise
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    captured = counter(stderr, "captured")
    if child.returncode != 0 or captured is None:
        raise RuntimeError(f"{name} failed (exit {child.returncode}): {stderr[-800:]}")
    cpu = usage.ru_utime + usage.ru_stime
    return {
        "name": name,
        "rate": "full" if rate == "full" else f"{int(rate):,}/s",
        "sent": count,
        "send_rate": count / send_seconds,
        "arrived": arrived,
        "captured": captured,
        "dropped": counter(stderr, "dropped by kernel") or 0,
        "cpu": cpu,
        "user": usage.ru_utime,
        "sys": usage.ru_stime,
    }


def median_row(runs: list[dict]) -> dict:
    """The run of median CPU (the lower of the middle two), with every run's CPU and the most
    frames any run dropped."""
    row = dict(sorted(runs, key=lambda r: r["cpu"])[(len(runs) - 1) // 2])
    row["rounds"] = [r["cpu"] for r in runs]
    row["dropped"] = max(r["dropped"] for r in runs)
    return row


def table(rows: list[dict]) -> str:
    rounds = len(rows[0]["rounds"]) > 1 if rows else False
    lines = [
        "| rate | sniffer | sent | sent/s | arrived | captured | dropped | cpu s (user+sys) "
        "| cpu s per 1M packets sent |" + (" cpu s of each round |" if rounds else ""),
        "| ---- | ------- | ---: | -----: | ------: | -------: | ------: | ---------------: "
        "| -------------------: |" + (" ---: |" if rounds else ""),
    ]
    for r in rows:
        per_million = r["cpu"] / r["sent"] * 1e6
        each = " ".join(f"{cpu:.2f}" for cpu in r["rounds"])
        lines.append(
            f"| {r['rate']} | {r['name']} | {r['sent']} | {r['send_rate']:,.0f} | {r['arrived']} "
            f"| {r['captured']} | {r['dropped']} | {r['cpu']:.2f} ({r['user']:.2f}+{r['sys']:.2f}) "
            f"| {per_million:.3f} |" + (f" {each} |" if rounds else "")
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=2_000_000)
    parser.add_argument("--rates", default="full,200000")
    parser.add_argument("--buffer", type=int, default=32768)
    parser.add_argument("--only", default="")
    parser.add_argument("--pause", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    if args.pause < 0:
        print(f"Cannot use --pause {args.pause:g}: it is seconds, 0 or more", file=sys.stderr)
        return 2
    if args.rounds < 1:
        print(f"Cannot use --rounds {args.rounds}: give 1 or more", file=sys.stderr)
        return 2
    rates = [r.strip() for r in args.rates.split(",") if r.strip()]
    for rate in rates:
        if rate != "full" and not rate.isdigit():
            print(f"Cannot parse --rates: {rate!r} is neither full nor a number", file=sys.stderr)
            return 2
    if os.geteuid() != 0:
        print("Cannot run the live benchmark: it needs root (network namespaces, capture)",
              file=sys.stderr)
        return 1
    missing = [tool for tool in ("deno", "trafgen", "tcpdump", "ip") if shutil.which(tool) is None]
    if missing:
        print(f"Cannot run the live benchmark: missing {', '.join(missing)} "
              "(apt-get install -y netsniff-ng tcpdump iproute2)", file=sys.stderr)
        return 1
    chosen = sniffers(args.buffer)
    if args.only:
        wanted = {name.strip() for name in args.only.split(",")}
        chosen = [s for s in chosen if s[0] in wanted]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    rows = []
    with tempfile.TemporaryDirectory(prefix="snout-bench-") as tmp:
        try:
            make_namespaces()
            mac_b = run("ip", "netns", "exec", NS_B, "cat", "/sys/class/net/vethB/address").strip()
            config = os.path.join(tmp, "udp.cfg")
            with open(config, "w") as file:
                file.write(traffic_config(mac_b))
            # Deno compiles snout once before the timed runs.
            run("deno", "cache", os.path.join(ROOT, "cli.ts"), DENO_FLOOR[-1])
            for rate in rates:
                runs: dict[str, list[dict]] = {name: [] for name, _, _ in chosen}
                for _ in range(args.rounds):
                    for name, command, env in chosen:
                        time.sleep(args.pause)
                        row = one_run(name, command, env, config, args.count, rate)
                        runs[name].append(row)
                        print(f"{row['rate']:>10} {name:<28} captured {row['captured']:>9} "
                              f"dropped {row['dropped']:>8} cpu {row['cpu']:.2f}s",
                              file=sys.stderr)
                rows.extend(median_row(runs[name]) for name, _, _ in chosen)
        finally:
            delete_namespaces()
    load = open("/proc/loadavg").read().split()[:3]
    each = "" if args.rounds == 1 else (
        f", {args.rounds} rounds (each row is the run of median CPU; dropped is the most of any "
        "round)")
    print(f"Live capture, {args.count} frames of 60 bytes per run, -B {args.buffer} for every "
          f"sniffer, {args.pause:g} s pause before each run{each}, {os.cpu_count()} CPUs, load "
          f"average before the last run {' '.join(load)}:\n")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
