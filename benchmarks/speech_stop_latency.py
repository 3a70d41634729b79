"""Stop latency: from hush() to silence on spk.monitor, over N long sentences, measured from the recording."""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.harness import Events, Recorder, offsets, onsets, require_pulse  # noqa: E402
from voicecoach.adapters.clock import MonotonicClock  # noqa: E402
from voicecoach.config import Settings  # noqa: E402
from voicecoach.speech.clips import RATE  # noqa: E402
from voicecoach.speech.pyttsx3_speaker import Pyttsx3Speaker  # noqa: E402
from voicecoach.speech.render import Renderer  # noqa: E402
from stats import add_record_option, percentile, record  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

SENTENCE = ("Slowly lower your right ear towards your right shoulder, keep both shoulders down and relaxed, "
            "and breathe out as you feel the stretch along the left side of your neck.")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=25)
    add_record_option(parser)
    args = parser.parse_args()
    require_pulse()
    events = Events()
    speaker = Pyttsx3Speaker(Settings(), MonotonicClock(), events, renderer=Renderer(folder=Path(tempfile.mkdtemp())))
    latencies, missed = [], 0
    try:
        speaker.prepare([SENTENCE])
        speaker.say("Ready.", utterance_id=0)
        events.wait_for(lambda items: any(n == "speech_end" for n, _ in items), 10)
        for run in range(1, args.runs + 1):
            with Recorder(rate=RATE) as recorder:
                speaker.say(SENTENCE, utterance_id=run)
                events.wait_for(lambda items: any(n == "speech_start" and f["id"] == run for n, f in items), 10)
                time.sleep(random.uniform(0.4, 2.0))
                requested = time.monotonic()
                speaker.hush()
                time.sleep(0.5)
            recording = recorder.samples
            at_request = int((requested - recorder.started) * RATE)
            if not onsets(recording[max(0, at_request - RATE // 5): at_request], RATE):
                missed += 1   # a pause between words at the moment of the request: nothing to silence
                continue
            latencies.append(recorder.started + offsets(recording, RATE)[-1] - requested)
    finally:
        speaker.close()
    ms = [x * 1000 for x in latencies]
    print(f"stop latency (hush() to last sound on spk.monitor), {len(ms)} runs"
          f" ({missed} skipped: silence at the request)")
    print(f"  median {statistics.median(ms):.1f} ms   p95 {percentile(ms, 95):.1f} ms   max {max(ms):.1f} ms"
          f"   target p95 <= 100 ms")
    if args.record:
        record("speech_stop_latency", {"p95_ms": percentile(ms, 95), "median_ms": statistics.median(ms), "stops": len(ms)},
               args.runs)
    return 0 if percentile(ms, 95) <= 100 else 1


if __name__ == "__main__":
    from isolation import isolated_env  # benchmarks/ is on sys.path when run as a script
    with isolated_env():
        sys.exit(main())
