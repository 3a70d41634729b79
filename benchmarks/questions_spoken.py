"""Spoken questions: knowledge-base questions synthesised in several voices, clean and at 20 dB, to topic."""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent / "corpus"))

from generate_listen import mix, pink_noise, read_pcm, synthesize  # noqa: E402
from stats import percentile  # noqa: E402

from voicecoach import knowledge  # noqa: E402
from voicecoach.listening.recognizer import Recognizer  # noqa: E402

VOICES = [{"engine": "espeak", "voice": "en-us+m3"}, {"engine": "espeak", "voice": "en-gb+f4"},
          {"engine": "flite", "voice": "awb"}, {"engine": "flite", "voice": "rms"},
          {"engine": "espeak", "voice": "en-us+f2"}, {"engine": "flite", "voice": "slt"}]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--per-topic", type=int, default=3, help="questions per topic (default 3)")
    args = parser.parse_args()
    rng = random.Random(7)
    recognizer = Recognizer.with_knowledge()
    noise = pink_noise(16000 * 30, rng)
    right, total, confusions, decode = Counter(), Counter(), Counter(), []
    with tempfile.TemporaryDirectory() as tmp:
        for topic in knowledge.load().topics.values():
            for n, question in enumerate(rng.sample(list(topic.examples), args.per_topic)):
                voice = VOICES[(n + len(total)) % len(VOICES)]
                path = Path(tmp) / "q.wav"
                synthesize(voice, question, rng, path)
                speech = read_pcm(path)
                for condition, snr in (("clean", None), ("snr20", 20.0)):
                    pcm = mix(speech, noise, rng.randrange(len(noise)), snr, -12).tobytes()
                    heard = recognizer.recognize(pcm)
                    decode.append(heard.extra.get("decode_ms", 0))
                    total[condition] += 1
                    if heard.intent == "ask" and heard.topic == topic.id:
                        right[condition] += 1
                    else:
                        confusions[(question, voice["voice"], condition, heard.intent, heard.topic)] += 1
    for condition in ("clean", "snr20"):
        print(f"{condition}: {right[condition] / total[condition]:.1%} ({right[condition]}/{total[condition]}) "
              f"questions to the right topic (target >= 90%)")
    print(f"decode ms: median {statistics.median(decode):.0f}, p95 {percentile(decode, 95):.0f}; "
          f"{len(VOICES)} voices, {args.per_topic} example questions per topic")
    for (question, voice, condition, intent, topic), _count in confusions.most_common():
        print(f"  {condition} {voice}: {question!r} -> {intent} {topic}")


if __name__ == "__main__":
    from isolation import isolated_env  # benchmarks/ is on sys.path when run as a script
    with isolated_env():
        main()
