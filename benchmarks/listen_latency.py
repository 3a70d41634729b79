"""Spoken command latency in a real session: the user's speech end (audio_end) to the action's first event."""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.harness import make_speech_wav, play_into_mic, require_pulse  # noqa: E402
from stats import add_record_option, percentile, record  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

ROUTINE = """name: Latency
exercises:
  - name: Long hold
    steps:
      - hold: 600
        count: none
"""
# Alternate pause and resume: each must change the state, so every command has a visible action.
COMMANDS = [("pause", "wait a second", "en-us", 150), ("resume", "please continue", "en-gb", 150),
            ("pause", "pause", "en-us", 140), ("resume", "resume", "en-us", 140)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--commands", type=int, default=20)
    parser.add_argument("--recognizer", default="offline", help="passed to voicecoach run")
    parser.add_argument("--keep-events", metavar="FILE", help="write the session's events log here")
    add_record_option(parser)
    args = parser.parse_args()
    require_pulse()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        wavs = [make_speech_wav(text, folder / f"{n}.wav", voice=voice, speed=speed, noise_db=-60, pad_s=0.4)
                for n, (_, text, voice, speed) in enumerate(COMMANDS)]
        (folder / "latency.yaml").write_text(ROUTINE)
        log = folder / "events.jsonl"
        env = {**os.environ, "XDG_DATA_HOME": str(folder / "data"), "XDG_CONFIG_HOME": str(folder / "config")}
        command = [sys.executable, "-m", "voicecoach", "run", "--start-wait", "0", str(folder / "latency.yaml"),
                   "--events", str(log), "--recognizer", args.recognizer]
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, env=env)
        try:
            while "hold_start" not in (log.read_text() if log.exists() else ""):
                time.sleep(0.1)
            for n in range(args.commands):
                play_into_mic(wavs[n % len(wavs)])
                time.sleep(3)
            memory = memory_of(process.pid)
        finally:
            process.terminate()
            process.wait(timeout=10)
        events = [json.loads(line) for line in log.read_text().splitlines()]
    if args.keep_events:
        Path(args.keep_events).write_text("".join(json.dumps(e) + "\n" for e in events))
    latencies, decode, waits, early, missed = [], [], [], 0, 0
    for index, event in enumerate(events):
        if event["event"] != "heard" or not event.get("intent"):
            continue
        decode.append(event.get("decode_ms", 0))
        waits.append(event.get("decode_wait_ms", 0))
        early += bool(event.get("early"))
        action = next((e for e in events[index + 1:] if e["event"] in ("state", "speech_start")), None)
        if action is None:
            missed += 1
        else:
            latencies.append((action["t"] - event["audio_end"]) * 1000)
    heard = len(latencies) + missed
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores; commands played: {args.commands}, "
          f"acted on: {len(latencies)}, heard without action: {missed}")
    if latencies:
        print(f"audio_end -> action ms: median {statistics.median(latencies):.0f}, "
              f"p95 {percentile(latencies, 95):.0f}, max {max(latencies):.0f} (target p95 <= 400)")
        print(f"decode ms: median {statistics.median(decode):.0f}, p95 {percentile(decode, 95):.0f}; still to wait "
              f"for after the endpoint: median {statistics.median(waits):.0f}, p95 {percentile(waits, 95):.0f} "
              f"(target p50 <= 40); early guesses used {early}/{len(decode)}; recognised {heard}/{args.commands}")
    print(f"memory after the commands: the session's process RSS {memory['VmRSS']:.0f} MB (peak {memory['VmHWM']:.0f}); "
          f"with the recognizer's process, RSS summed {memory['tree_rss']:.0f} MB, PSS summed {memory['tree_pss']:.0f} MB "
          "(target <= 200)")
    if args.record and latencies:
        record("listen_latency", {"p95_ms": percentile(latencies, 95), "median_ms": statistics.median(latencies),
                                  "max_ms": max(latencies), "acted": len(latencies), "said": args.commands,
                                  "session_rss_mb": memory["VmRSS"], "tree_rss_mb": memory["tree_rss"],
                                  "tree_pss_mb": memory["tree_pss"]}, args.commands)


def memory_of(pid: int) -> dict[str, float]:
    """In MB: the session's own VmRSS and VmHWM (peak RSS), and over it and its children (the recognizer's process)
    the summed RSS and PSS (shared pages counted once, shared out between the processes that map them)."""
    total = {"VmRSS": 0.0, "VmHWM": 0.0, "tree_rss": 0.0, "tree_pss": 0.0}
    for n, child in enumerate([pid, *children_of(pid)]):
        status = Path(f"/proc/{child}/status").read_text().splitlines()
        fields = dict(line.split(":", 1) for line in status if ":" in line)
        rollup = dict(line.split(":", 1) for line in Path(f"/proc/{child}/smaps_rollup").read_text().splitlines()[1:])
        rss, peak, pss = (int(table[key].split()[0]) / 1024
                          for table, key in ((fields, "VmRSS"), (fields, "VmHWM"), (rollup, "Pss")))
        print(f"  process {child} ({Path(f'/proc/{child}/cmdline').read_text().split(chr(0))[1:3]}): RSS {rss:.0f} MB, "
              f"PSS {pss:.0f} MB, peak RSS {peak:.0f} MB")
        if n == 0:
            total["VmRSS"], total["VmHWM"] = rss, peak
        total["tree_rss"] += rss
        total["tree_pss"] += pss
    return total


def children_of(pid: int) -> list[int]:
    """Every descendant of a process (Linux: /proc/PID/task/*/children)."""
    direct = [int(child) for task in Path(f"/proc/{pid}/task").iterdir()
              for child in (task / "children").read_text().split()]
    return [grandchild for child in direct for grandchild in [child, *children_of(child)]]


if __name__ == "__main__":
    from isolation import isolated_env  # benchmarks/ is on sys.path when run as a script
    with isolated_env():
        main()
