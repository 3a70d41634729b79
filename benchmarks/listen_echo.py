"""Talking over the coach through speakers: ERLE, commands acted on over its speech and in silence, false actions
from its own voice with nobody speaking, and the canceller's CPU. Real sessions through the private PulseAudio,
the speaker looped into the microphone through a room (tests/harness.py speakers_in_room)."""
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

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.handsfree import Session  # noqa: E402
from tests.harness import make_speech_wav, play_into_mic, require_pulse, room_response, speakers_in_room  # noqa: E402
from voicecoach.stats import percentile  # noqa: E402

from stats import add_record_option, record  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

ROUTINE = """name: Talk over
exercises:
  - name: Wall calf stretch
    sides: [left, right]
    rounds: 2
    steps:
      - say: Step forward with your {side} foot and lean into the wall, keeping your back heel down.
      - say: Keep your back leg straight and your hips facing the wall while you lean.
      - hold: 20
        count: fives
"""
# Commands that do not change the session's course, so a session can take many.
COMMANDS = (("how long left", "time_left"), ("how much longer", "time_left"), ("say that again", "repeat"),
            ("what step is this", "where"))
REACT_S = 4.0


def heard_intent(session, intent, after):
    return session.first(lambda e: e["event"] == "heard" and e.get("intent") == intent, after, REACT_S)


def quiet_for(session, seconds: float, timeout: float = 20) -> bool:
    """Wait until the coach has been silent for `seconds`: everything it began has ended (a tone ends before the
    line it sounds over), the last of it that long ago, and that long since waiting began (a line cut off after it
    gave way to the user ends when it fell silent, which the log learns only later)."""
    began, deadline = session.now(), time.monotonic() + timeout
    while time.monotonic() < deadline:
        sounding: set[int] = set()
        last_end = None
        for e in session.events():
            if e["event"] == "speech_start":
                sounding.add(e["id"])
            elif e["event"] == "speech_end":
                sounding.discard(e["id"])
                last_end = e["t"]
        now = session.now()
        if last_end is not None and not sounding and now - max(last_end, began) > seconds:
            return True
        time.sleep(0.05)
    return False


def talk_over(folder: Path, delay_ms: float, gain_db: float, seconds: float, wavs) -> dict:
    """One session: commands over the coach's sentences, over its counts, and in silence, in turn."""
    counts = {"sentence": [0, 0], "count": [0, 0], "silence": [0, 0]}  # kind -> [said, acted]
    with speakers_in_room(delay_ms, gain_db):
        session = Session(folder, routine=ROUTINE, args=("--start-wait", "0"))
        started, n, after = time.monotonic(), 0, 5.0  # from 5 s: the canceller's first seconds are not judged
        try:
            while time.monotonic() - started < seconds and session.process.poll() is None:
                kind = ("sentence", "count", "silence")[n % 3]
                words, intent = COMMANDS[n // 3 % len(COMMANDS)]  # each said over a sentence, a count, in silence
                n += 1
                if kind == "silence":
                    if not quiet_for(session, 0.4):
                        continue
                else:
                    want = (lambda e: e["event"] == "speech_start" and e.get("kind") == "count") if kind == "count" \
                        else (lambda e: e["event"] == "speech_start" and e.get("kind") in ("instruction", "info")
                              and len(e["text"]) > 40)
                    line = session.first(want, after, timeout=30)
                    if line is None or session.now() > line["t"] + 0.3:
                        after = line["t"] if line else session.now()
                        continue
                    time.sleep(max(0.0, line["t"] + (0.05 if kind == "count" else 0.5) - session.now()))
                said_at = session.now()
                print(f"  {said_at:.1f} s: {words!r} ({kind})", flush=True)
                play_into_mic(wavs[words])
                counts[kind][0] += 1
                acted = heard_intent(session, intent, said_at)
                counts[kind][1] += acted is not None
                if acted is not None:  # its answer, once begun, must end first: "in silence" is said after it
                    session.first(lambda e: e["event"] == "speech_end" and e.get("kind") not in ("cue", "count"),
                                  acted["t"], 10)
                after = session.now()
                quiet_for(session, 0.3)
        finally:
            session.process.terminate()
            session.process.communicate(timeout=10)
    events = session.events()
    acted = [(round(e["t"], 1), e["intent"], e["text"]) for e in events if e["event"] == "heard" and e.get("intent")]
    keep(events, f"talk-over-{delay_ms:.0f}ms{gain_db:+.0f}dB")
    return {"counts": counts, "erle": [e["removed_db"] for e in events if e["event"] == "echo_removed"],
            "acted": acted, "ended": [e["event"] for e in events[-3:]], **barge_in(events)}


def keep(events: list[dict], name: str) -> None:
    """With LISTEN_ECHO_KEEP=FOLDER, every event of a session goes to FOLDER/name.jsonl, to see why a try failed."""
    if os.environ.get("LISTEN_ECHO_KEEP"):
        folder = Path(os.environ["LISTEN_ECHO_KEEP"])
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))


def barge_in(events: list[dict]) -> dict:
    """From the end of each spoken command acted on: to the end of the line it cut off (the player's stated time
    of the first sample not played, so the output's own latency is included; before the command's end, negative,
    when the line gave way as the user began) and to the start of its tone."""
    silenced, toned = [], []
    for at, heard in enumerate(events):
        if heard["event"] != "heard" or not heard.get("intent") or heard.get("audio_end") is None:
            continue
        cut = next((e for e in events[at + 1:] if e["event"] == "speech_end" and e.get("interrupted")
                    and heard["audio_end"] - 3.0 <= e["t"] <= heard["t"] + 1.0), None)
        tone = next((e for e in events if e["event"] == "speech_start" and e.get("text") == "understood"
                     and heard["t"] - 0.05 <= e["t"] <= heard["t"] + 2.0), None)
        if cut is not None:
            silenced.append(round((cut["t"] - heard["audio_end"]) * 1000))
        if tone is not None:
            toned.append(round((tone["t"] - heard["audio_end"]) * 1000))
    return {"silenced_ms": silenced, "tone_ms": toned}


LONG_HOLD = """name: Long hold
exercises:
  - name: Wall calf stretch
    steps:
      - say: Lean into the wall.
      - hold: 600
        count: none
"""


def headphones(folder: Path, tries: int, wavs) -> dict:
    """With headphones (no loop): "pause" in the hold, then "resume" said during "Paused. Say resume when you are
    ready.", the coach's own words said over its line; counted when resume is acted on."""
    said = acted = 0
    session = Session(folder, routine=LONG_HOLD, args=("--start-wait", "0"))
    try:
        if session.first(lambda e: e["event"] == "hold_start", -1, 60) is None:
            return {"said": 0, "acted": 0, "silenced_ms": [], "tone_ms": []}
        for _ in range(tries):
            at = session.now()
            play_into_mic(wavs["pause"])
            prompt = session.first(lambda e: e["event"] == "speech_start" and e.get("text", "").startswith("Paused."),
                                   at, REACT_S)
            if prompt is None:
                quiet_for(session, 0.5)
                continue
            time.sleep(max(0.0, prompt["t"] + 0.8 - session.now()))  # well inside "Say resume when you are ready"
            said_at = session.now()
            play_into_mic(wavs["resume"])
            said += 1
            acted += heard_intent(session, "resume", said_at) is not None
            quiet_for(session, 0.5)
    finally:
        session.process.terminate()
        session.process.communicate(timeout=10)
    keep(session.events(), "headphones")
    return {"said": said, "acted": acted, **barge_in(session.events())}


def idle(folder: Path, delay_ms: float, gain_db: float, seconds: float) -> dict:
    """The bundled calf routine through the room with nobody speaking, run again and again until `seconds` of
    sessions have passed: every action is false."""
    events: list[dict] = []
    started, run = time.monotonic(), 0
    with speakers_in_room(delay_ms, gain_db):
        while time.monotonic() - started < seconds:
            run += 1
            log = folder / f"events{run}.jsonl"
            env = {**os.environ, "XDG_DATA_HOME": str(folder / "data"), "XDG_CONFIG_HOME": str(folder / "config"),
                   "XDG_CACHE_HOME": str(folder / "cache"), "XDG_STATE_HOME": str(folder / "state")}
            process = subprocess.Popen([sys.executable, "-m", "voicecoach", "run", "--start-wait", "0", "--events",
                                        str(log), "calf-stretch"], stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
            try:
                process.wait(timeout=max(1.0, seconds - (time.monotonic() - started)))
            except subprocess.TimeoutExpired:
                process.terminate()
                process.wait(timeout=10)
            if log.exists():
                events += [json.loads(line) for line in log.read_text().splitlines()]
    keep(events, "idle")
    heard = [e for e in events if e["event"] == "heard"]
    return {"acted": [e for e in heard if e.get("intent")], "heard": len(heard),
            "echo": sum(bool(e.get("echo")) for e in heard),
            "erle": [e["removed_db"] for e in events if e["event"] == "echo_removed"],
            "windows": [(round(e["removed_db"], 1), round(e["in_mic_db"], 1), e["coach_audible"], e["reference_restarts"])
                        for e in events if e["event"] == "echo_removed"],
            "seconds": time.monotonic() - started, "sessions": run}


def cpu(seconds: float = 30.0) -> float:
    """Percent of one core the canceller takes: clean() on `seconds` of synthetic room echo, process time."""
    from voicecoach.listening.echo import MIC_RATE, EchoCanceller, PlayedAudio
    with tempfile.TemporaryDirectory() as tmp:
        text = "Rest your hands on the wall, and keep your back leg straight. Lean forward slowly. " * 3
        wav = make_speech_wav(text, Path(tmp) / "coach.wav", voice="en-us")
        import wave
        with wave.open(str(wav)) as f:
            speech = np.frombuffer(f.readframes(f.getnframes()), np.int16).astype(np.float64)
    line = np.resize(speech, int(seconds * MIC_RATE))
    echo = np.convolve(line, room_response(60, -6))[:len(line)]
    played = PlayedAudio(MIC_RATE)
    canceller = EchoCanceller(played)
    spent = 0.0
    for k in range(0, len(line) - 480, 480):
        played.write(line[k:k + 480].astype(np.int16).tobytes(), 100.0 + k / MIC_RATE)
        frame = np.clip(echo[k:k + 480], -32768, 32767).astype(np.int16).tobytes()
        begin = time.process_time()
        canceller.clean(frame, 100.0 + k / MIC_RATE)
        spent += time.process_time() - begin
    return 100 * spent / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rooms", default="0:0,60:-6,100:-12",
                        help="extra delay ms:gain dB of each room (the loop itself adds about 50 ms)")
    parser.add_argument("--seconds", type=float, default=75, help="length of each talk-over session")
    parser.add_argument("--idle-seconds", type=float, default=240, help="length of the nobody-speaking run")
    parser.add_argument("--idle-room", default="60:0")
    parser.add_argument("--headphones-tries", type=int, default=0,
                        help="with headphones, times to say resume during the coach's \"Say resume when you are ready\"")
    add_record_option(parser)
    args = parser.parse_args()
    require_pulse()
    rooms = [tuple(float(x) for x in room.split(":")) for room in args.rooms.split(",") if room]
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores", flush=True)
    canceller_cpu = cpu()
    print(f"canceller CPU: {canceller_cpu:.2f}% of one core (clean() process time over 30 s of room echo)", flush=True)
    erle_all, silenced_all, tone_all, idle_result, phones = [], [], [], None, None
    over: dict[str, list[int]] = {"sentence": [0, 0], "count": [0, 0], "silence": [0, 0]}  # said, acted
    with tempfile.TemporaryDirectory() as tmp:
        wavs = {words: make_speech_wav(words, Path(tmp) / f"c{i}.wav", voice="en-gb", noise_db=-60, pad_s=0.3)
                for i, (words, _) in enumerate(COMMANDS)}
        for name in ("pause", "resume"):
            wavs[name] = make_speech_wav(name, Path(tmp) / f"{name}.wav", voice="en-gb", noise_db=-60, pad_s=0.3)
        if args.headphones_tries:
            result = phones = headphones(Path(tempfile.mkdtemp(dir=tmp)), args.headphones_tries, wavs)
            print(f"headphones: resume said during \"Say resume when you are ready\" acted on {result['acted']} "
                  f"of {result['said']}; end of command -> line cut off (ms) {result['silenced_ms']}, "
                  f"-> tone (ms) {result['tone_ms']}", flush=True)
            silenced_all += result["silenced_ms"]
            tone_all += result["tone_ms"]
        for delay, gain in rooms:
            folder = Path(tempfile.mkdtemp(dir=tmp))
            result = talk_over(folder, delay, gain, args.seconds, wavs)
            erle_all += result["erle"]
            shares = ", ".join(f"{kind} {acted}/{said}" for kind, (said, acted) in result["counts"].items())
            for kind, (said, acted) in result["counts"].items():
                over[kind][0] += said
                over[kind][1] += acted
            print(f"room +{delay:.0f} ms, {gain:+.0f} dB: acted on {shares}; ERLE per 10 s "
                  f"{[round(e, 1) for e in result['erle']]}", flush=True)
            print(f"  every action (t, intent, text): {result['acted']}; last events {result['ended']}", flush=True)
            print(f"  end of command -> line cut off (ms): {result['silenced_ms']}; -> tone (ms): {result['tone_ms']}",
                  flush=True)
            silenced_all += result["silenced_ms"]
            tone_all += result["tone_ms"]
        if args.idle_seconds > 0:
            delay, gain = (float(x) for x in args.idle_room.split(":"))
            result = idle_result = idle(Path(tempfile.mkdtemp(dir=tmp)), delay, gain, args.idle_seconds)
            erle_all += result["erle"]
            print(f"nobody speaking, room +{delay:.0f} ms {gain:+.0f} dB, {result['seconds']:.0f} s in "
                  f"{result['sessions']} sessions: "
                  f"{len(result['acted'])} false actions {[(e['intent'], e['text']) for e in result['acted']]}; "
                  f"{result['heard']} utterances heard, {result['echo']} judged the coach's echo; "
                  f"ERLE per 10 s {[round(e, 1) for e in result['erle']]}", flush=True)
            print(f"  per 10 s (ERLE dB, coach in mic dB, audible, reference restarts): {result['windows']}")
    for name, values in (("end of command -> line cut off", silenced_all), ("end of command -> tone", tone_all)):
        if values:
            print(f"{name}: median {statistics.median(values):.0f} ms, p95 {percentile(values, 95):.0f} ms, n {len(values)}")
    if erle_all:
        print(f"ERLE (median over each 10 s of the coach's sound, {len(erle_all)} windows): median "
              f"{statistics.median(erle_all):.1f} dB, p5 {percentile(erle_all, 5):.1f} dB")
    if args.record and erle_all and over["sentence"][0] and over["count"][0]:
        pct = {kind: 100 * acted / max(said, 1) for kind, (said, acted) in over.items()}
        record("listen_echo", {
            "erle_median_db": statistics.median(erle_all), "erle_p5_db": percentile(erle_all, 5),
            "over_sentences": over["sentence"][0], "over_sentences_acted": over["sentence"][1],
            "over_sentences_pct": pct["sentence"],
            "over_counts": over["count"][0], "over_counts_acted": over["count"][1], "over_counts_pct": pct["count"],
            "in_silence": over["silence"][0], "in_silence_acted": over["silence"][1],
            # the "within 5 points of the same commands said in silence", for the worse of the two
            "points_below_silence": pct["silence"] - min(pct["sentence"], pct["count"]),
            "canceller_cpu_pct": canceller_cpu,
            **({"cut_off_median_ms": statistics.median(silenced_all), "cut_off_p95_ms": percentile(silenced_all, 95),
                "cut_off_n": len(silenced_all)} if silenced_all else {}),
            **({"tone_median_ms": statistics.median(tone_all), "tone_p95_ms": percentile(tone_all, 95),
                "tone_n": len(tone_all)} if tone_all else {}),
            **({"headphones_said": phones["said"], "headphones_acted": phones["acted"],
                "headphones_pct": 100 * phones["acted"] / max(phones["said"], 1)} if phones else {}),
            **({"idle_false_actions": len(idle_result["acted"]), "idle_minutes": idle_result["seconds"] / 60}
               if idle_result else {})}, 1)  # one run, over the rooms given


if __name__ == "__main__":
    from isolation import isolated_env  # benchmarks/ is on sys.path when run as a script
    with isolated_env():
        main()
