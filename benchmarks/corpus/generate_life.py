"""Generate the corpus "that looks like life" (rooms, babble, fan noise, speech levels, own-word phrasings) into benchmarks/out/.

Usage: .venv/bin/python benchmarks/corpus/generate_life.py [--split test|train] [--per-intent 6]
Each sentence is synthesised once (a voice, tempo and pitch drawn from the split's) and heard in four conditions:
quiet (a -70 dBFS floor), room (a synthetic room's reverberation), babble (room + talkers at 10 dB SNR) and noise
(room + the split's noise kind at 5 dB SNR), at a speech level drawn from -35 to -10 dBFS. Phrasings: "listed"
(intents.yaml's spoken phrases), "own" (the user's own words) and "none" (non-commands): for test from
benchmarks/corpus/heldout_paraphrases.yaml, written by someone who never saw intents.yaml; for train from
voicecoach/data/meanings.yaml.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import wave
from pathlib import Path

import numpy
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))
from generate_listen import synthesize  # noqa: E402

from voicecoach.listening.grammar import spoken_phrases  # noqa: E402

RATE = 16000
PAD_SECONDS = 0.4
CONDITIONS = ("quiet", "room", "babble10", "noise5")
SEED = {"test": 53, "train": 71}


def read(path: Path) -> numpy.ndarray:
    with wave.open(str(path)) as w:
        return numpy.frombuffer(w.readframes(w.getnframes()), numpy.int16).astype(numpy.float64) / 32768


def active_rms(x: numpy.ndarray) -> float:
    """RMS over the 20 ms frames within 30 dB of the loudest."""
    frames = x[: len(x) // 320 * 320].reshape(-1, 320)
    energy = (frames ** 2).mean(axis=1)
    if not len(energy):
        return 1e-9
    return float(numpy.sqrt(energy[energy >= energy.max() / 1000].mean())) or 1e-9


def room_response(rt60: float, distance: float, rng: numpy.random.Generator) -> numpy.ndarray:
    """A synthetic room impulse response: the direct sound, then exponentially decaying noise (60 dB over rt60)
    whose energy against the direct sound grows with the square of the distance (critical distance 1 m)."""
    n = int(rt60 * RATE)
    t = numpy.arange(n) / RATE
    tail = rng.normal(0, 1, n) * numpy.exp(-6.9 * t / rt60)
    tail[: int(0.003 * RATE)] = 0  # the first reflections arrive a few ms after the direct sound
    tail *= distance / numpy.sqrt((tail ** 2).sum())
    response = tail
    response[0] += 1.0
    return response


def fan(n: int, rng: numpy.random.Generator) -> numpy.ndarray:
    """Fan-like noise: low-passed white noise with a motor hum and its harmonics."""
    white = rng.normal(0, 1, n + 64)
    low = numpy.convolve(white, numpy.hanning(64) / 32, "valid")[:n]
    t = numpy.arange(n) / RATE
    hum = sum(numpy.sin(2 * numpy.pi * f * t + rng.uniform(0, 6.3)) / k for k, f in enumerate((100, 200, 300), 1))
    return low / low.std() + 0.3 * hum


def pink(n: int, rng: numpy.random.Generator) -> numpy.ndarray:
    spectrum = numpy.fft.rfft(rng.normal(0, 1, n))
    spectrum /= numpy.sqrt(numpy.maximum(numpy.arange(len(spectrum)), 1))
    return numpy.fft.irfft(spectrum, n)


def sentences(split: str, per_intent: int, rng: random.Random) -> list[dict]:
    """The split's phrasings. Own words and non-commands: for test, the held-out paraphrases (written by someone who
    never saw intents.yaml); for train, the meaning classifier's own training sentences (voicecoach/data/
    meanings.yaml), so that nothing a decision is fitted on is a phrasing it is reported on."""
    if split == "test":
        held = yaml.safe_load((HERE / "heldout_paraphrases.yaml").read_text())
        commands, others = held["commands"], held["not_commands"]
    else:
        written = yaml.safe_load((ROOT / "voicecoach" / "data" / "meanings.yaml").read_text())
        others = written.pop("nothing")
        commands = written
    items = [{"phrasing": "listed", "text": phrase, "intent": intent}
             for phrase, intent in sorted(spoken_phrases().items())]
    for intent, texts in sorted(commands.items()):
        items += [{"phrasing": "own", "text": text, "intent": intent}
                  for text in rng.sample(texts, min(per_intent, len(texts)))]
    items += [{"phrasing": "none", "text": text, "intent": None} for text in others]
    return items


def build(split: str, per_intent: int, out: Path) -> list[dict]:
    spec = yaml.safe_load((HERE / "life_corpus.yaml").read_text())
    rng, np_rng = random.Random(SEED[split]), numpy.random.default_rng(SEED[split])
    voices, rooms, noise = spec["voices"][split], spec["rooms"][split], spec["noise"][split]
    folder = out / split
    folder.mkdir(parents=True, exist_ok=True)
    manifest = []
    with tempfile.TemporaryDirectory() as tmp:
        babble_sources = []
        for n, (voice, line) in enumerate((v, line) for v in noise["babble_voices"] for line in spec["babble_lines"]):
            synthesize({"engine": "espeak", "voice": voice}, line, rng, Path(tmp) / f"b{n}.wav")
            babble_sources.append(read(Path(tmp) / f"b{n}.wav"))
        items = sentences(split, per_intent, rng)
        for n, item in enumerate(items):
            voice = rng.choice(voices)
            synthesize(voice, item["text"], rng, Path(tmp) / "s.wav")
            dry = read(Path(tmp) / "s.wav")
            pad = numpy.zeros(int(PAD_SECONDS * RATE))
            dry = numpy.concatenate([pad, dry / active_rms(dry), pad])
            room = rng.choice(rooms)
            wet = numpy.convolve(dry, room_response(room["rt60"], room["distance"], np_rng))[: len(dry)]
            wet /= active_rms(wet)
            talkers = numpy.zeros(len(wet))
            for source in rng.sample(babble_sources, 4):
                start = rng.randrange(max(1, len(source) - len(wet))) if len(source) > len(wet) else 0
                piece = numpy.resize(source[start:], len(wet))
                talkers += piece / active_rms(piece)
            talkers = numpy.convolve(talkers, room_response(0.6, 3.0, np_rng))[: len(wet)]
            hum = fan(len(wet), np_rng) if noise["noise"] == "fan" else pink(len(wet), np_rng)
            level = 10 ** (rng.uniform(-35, -10) / 20)
            floor = numpy.random.default_rng(n).normal(0, 10 ** (-70 / 20), len(wet))
            mixes = {"quiet": dry, "room": wet,
                     "babble10": wet + talkers / numpy.sqrt((talkers ** 2).mean()) * 10 ** (-10 / 20),
                     "noise5": wet + hum / numpy.sqrt((hum ** 2).mean()) * 10 ** (-5 / 20)}
            for condition in CONDITIONS:
                x = mixes[condition] * level + floor
                name = f"{split}-{n:04d}-{condition}.wav"
                with wave.open(str(folder / name), "wb") as w:
                    w.setnchannels(1), w.setsampwidth(2), w.setframerate(RATE)
                    w.writeframes((numpy.clip(x, -1, 32767 / 32768) * 32768).astype(numpy.int16).tobytes())
                manifest.append({**item, "file": f"{split}/{name}", "condition": condition, "split": split,
                                 "speaker": f"{voice['engine']}:{voice['voice']}", "rt60": room["rt60"]})
            if (n + 1) % 100 == 0:
                print(f"{split}: {n + 1}/{len(items)}", file=sys.stderr)
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", default="test", choices=sorted(SEED))
    parser.add_argument("--per-intent", type=int, default=6, help="own-word phrasings drawn per intent")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "life_corpus")
    args = parser.parse_args()
    manifest = build(args.split, args.per_intent, args.out)
    with open(args.out / f"{args.split}.jsonl", "w") as file:
        file.writelines(json.dumps(row) + "\n" for row in manifest)
    print(f"{args.split}: {len(manifest)} files in {args.out / args.split}")


if __name__ == "__main__":
    main()
