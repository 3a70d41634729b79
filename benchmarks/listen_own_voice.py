"""The coach's own voice through speakers: its output looped into the microphone; every command it acts on is false."""
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

from tests.harness import require_pulse, speakers_into_mic  # noqa: E402


def session(seconds: float, folder: Path) -> list[dict]:
    """Events of the bundled calf routine run for `seconds` with nobody speaking."""
    log = folder / "events.jsonl"
    env = {**os.environ, "XDG_DATA_HOME": str(folder / "data"), "XDG_CONFIG_HOME": str(folder / "config")}
    process = subprocess.Popen([sys.executable, "-m", "voicecoach", "run", "--start-wait", "0", "--events", str(log),
                                "calf-stretch"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env=env)
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.terminate()
        process.wait(timeout=10)
    return [json.loads(line) for line in log.read_text().splitlines()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=200.0, help="length of each session (the routine is ~4 min)")
    parser.add_argument("--latency-ms", type=int, default=60, help="speaker-to-microphone delay of the loop")
    parser.add_argument("--keep-events", metavar="DIR", help="write each session's events log here (run1.jsonl...)")
    args = parser.parse_args()
    require_pulse()
    acted_per_run, echo_per_run, heard_per_run = [], [], []
    with speakers_into_mic(args.latency_ms):
        for run in range(args.runs):
            started = time.monotonic()
            with tempfile.TemporaryDirectory() as tmp:
                events = session(args.seconds, Path(tmp))
            if args.keep_events:
                Path(args.keep_events).mkdir(parents=True, exist_ok=True)
                (Path(args.keep_events) / f"run{run + 1}.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
            heard = [e for e in events if e["event"] == "heard"]
            acted = [e for e in heard if e.get("intent")]
            lines = [e for e in events if e["event"] == "speech_start" and e.get("kind") not in ("cue", "count")]
            counts = [e for e in events if e["event"] == "speech_start" and e.get("kind") == "count"]
            acted_per_run.append(len(acted))
            echo_per_run.append(sum(bool(e.get("echo")) for e in heard))
            heard_per_run.append(len(heard))
            print(f"run {run + 1}: {time.monotonic() - started:.0f} s, {len(lines)} lines and {len(counts)} counts "
                  f"spoken; {len(heard)} utterances heard, {echo_per_run[-1]} taken as the coach's echo, "
                  f"{len(acted)} acted on (false)", flush=True)
            for e in acted:
                said = [s["text"] for s in events if s["event"] == "speech_start" and
                        e["audio_end"] - 3 <= s["t"] <= e["audio_end"]]
                print(f"  false {e['intent']}: {e['text']!r} (transcript {e.get('transcript')!r}) at {e['t']:.1f} s, "
                      f"the coach having begun to say {said} in the 3 s before its end")
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores; {args.runs} runs of "
          f"{args.seconds:.0f} s, loop delay {args.latency_ms} ms")
    print(f"false commands per run: median {statistics.median(acted_per_run)} ({acted_per_run}); echoes caught: "
          f"median {statistics.median(echo_per_run)}; utterances heard: median {statistics.median(heard_per_run)}")


if __name__ == "__main__":
    from isolation import isolated_env  # benchmarks/ is on sys.path when run as a script
    with isolated_env():
        main()
