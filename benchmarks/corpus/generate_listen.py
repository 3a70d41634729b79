"""Generate the listening corpus (synthetic voices, pink noise at several SNRs) deterministically into benchmarks/out/."""
from __future__ import annotations

import argparse
import array
import json
import math
import random
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))
from voicecoach.intents import vocabulary  # noqa: E402
from voicecoach.listening.grammar import listening_words  # noqa: E402

RATE = 16000
PAD_SECONDS = 0.4            # endpointer slack before and after speech
FLOOR_RMS = 12.0             # "clean" still has a microphone noise floor (about -69 dBFS)
SNRS = {"clean": None, "snr20": 20.0, "snr10": 10.0}
COMMANDS_PER_SPLIT = {"dev": 200, "test": 280, "tune": 150, "accents": 200, "counting": 0, "talk": 0}
COUGHS_PER_SPLIT = {"dev": 20, "test": 30, "tune": 10, "accents": 10, "counting": 0, "talk": 0}
SPLIT_SEED = {"dev": 11, "test": 29, "tune": 47, "accents": 83, "counting": 101, "talk": 131}


def synthesize(speaker: dict, text: str, rng: random.Random, out: Path, effects: tuple[str, ...] = ()) -> None:
    raw = out.with_suffix(".tts.wav")
    engine, voice = speaker["engine"], speaker["voice"]
    if engine == "espeak":
        speed, pitch = rng.choice([135, 160, 185, 210]), rng.choice([30, 45, 60, 75])
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(raw), text], check=True)
    elif engine == "flite":
        stretch = rng.choice([0.8, 0.95, 1.1, 1.25])
        subprocess.run(["flite", "-voice", voice, "--setf", f"duration_stretch={stretch}", "-t", text, "-o", str(raw)],
                       check=True)
    elif engine == "pyttsx3":
        code = ("import pyttsx3,sys;e=pyttsx3.init();e.setProperty('voice',sys.argv[1]);"
                "e.setProperty('rate',int(sys.argv[2]));e.save_to_file(sys.argv[3],sys.argv[4]);e.runAndWait()")
        subprocess.run([sys.executable, "-c", code, voice, str(rng.choice([150, 180, 210])), text, str(raw)],
                       check=True, stdout=subprocess.DEVNULL)
    else:
        raise ValueError(engine)
    tempo_pitch = [] if engine != "flite" else ["pitch", str(rng.choice([-200, 0, 150, 300]))]
    with wave.open(str(raw)) as w:
        if effects and w.getframerate() < RATE:  # flite's kal speaks at 8 kHz, too low for the television's filter
            tempo_pitch = ["rate", str(RATE), *tempo_pitch]
    subprocess.run(["sox", "-R", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(out), *tempo_pitch, *effects], check=True)
    raw.unlink()


def cough(rng: random.Random, out: Path) -> None:
    """A cough, clap or knock: a short shaped noise burst."""
    kind = rng.choice(["cough", "double", "clap", "thud"])
    dur = {"cough": 0.35, "double": 0.25, "clap": 0.08, "thud": 0.15}[kind]
    band = {"cough": "300-2500", "double": "250-2000", "clap": "1000-6000", "thud": "60-400"}[kind]
    burst = ["synth", f"{dur}", rng.choice(["whitenoise", "brownnoise"]), "sinc", band, "fade", "q", "0.01",
             f"{dur}", f"{dur * 0.7:.3f}"]
    parts = []
    for i in range(2 if kind == "double" else 1):
        part = out.with_suffix(f".p{i}.wav")
        subprocess.run(["sox", "-R", "-n", "-r", str(RATE), "-c", "1", "-b", "16", str(part), *burst,
                        "gain", "-n", f"-{rng.randint(2, 12)}"], check=True)
        parts.append(part)
    subprocess.run(["sox", *map(str, parts), str(out), "pad", "0", "0.1"] if len(parts) == 1 else
                   ["sox", str(parts[0]), str(parts[1]), str(out)], check=True)
    for p in parts:
        p.unlink()


def read_pcm(path: Path) -> array.array:
    with wave.open(str(path)) as w:
        assert w.getframerate() == RATE and w.getnchannels() == 1 and w.getsampwidth() == 2
        return array.array("h", w.readframes(w.getnframes()))


def write_pcm(path: Path, samples: array.array) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(RATE)
        w.writeframes(samples.tobytes())


def pink_noise(n: int, rng: random.Random) -> list[float]:
    """Paul Kellet's pink filter over Gaussian white noise, unit RMS."""
    b0 = b1 = b2 = b3 = b4 = b5 = b6 = 0.0
    out = []
    gauss = rng.gauss
    for _ in range(n):
        white = gauss(0.0, 1.0)
        b0 = 0.99886 * b0 + white * 0.0555179
        b1 = 0.99332 * b1 + white * 0.0750759
        b2 = 0.96900 * b2 + white * 0.1538520
        b3 = 0.86650 * b3 + white * 0.3104856
        b4 = 0.55000 * b4 + white * 0.5329522
        b5 = -0.7616 * b5 - white * 0.0168980
        out.append(b0 + b1 + b2 + b3 + b4 + b5 + b6 + white * 0.5362)
        b6 = white * 0.115926
    rms = math.sqrt(sum(x * x for x in out) / n)
    return [x / rms for x in out]


def active_rms(samples: array.array) -> float:
    """RMS over the frames that carry the sound (within 30 dB of the loudest 20 ms frame)."""
    frame = RATE // 50
    energies = [sum(s * s for s in samples[i:i + frame]) / frame for i in range(0, len(samples) - frame + 1, frame)]
    if not energies:
        return 1.0
    top = max(energies)
    active = [e for e in energies if e >= top / 1000] or energies
    return math.sqrt(sum(active) / len(active)) or 1.0


def mix(speech: array.array, noise: list[float], offset: int, snr_db: float | None, level_db: float) -> array.array:
    pad = int(PAD_SECONDS * RATE)
    gain = 10 ** (level_db / 20) * 32767 / max(1, max(abs(s) for s in speech))
    padded = [0.0] * pad + [s * gain for s in speech] + [0.0] * pad
    signal_rms = active_rms(array.array("h", (int(x) for x in padded[pad:-pad])))
    noise_rms = FLOOR_RMS if snr_db is None else max(FLOOR_RMS, signal_rms / 10 ** (snr_db / 20))
    out = array.array("h")
    for i, x in enumerate(padded):
        v = x + noise[(offset + i) % len(noise)] * noise_rms
        out.append(max(-32768, min(32767, int(round(v)))))
    return out


def command_texts(split: str, rng: random.Random, count: int) -> list[tuple[str, str]]:
    """(spoken text, intent): every phrase at least once, the rest with politeness words around them."""
    vocab = vocabulary()
    words = listening_words()
    phrases = sorted(vocab.phrases.items())
    items = []
    while len(items) < count:
        for phrase, intent in rng.sample(phrases, len(phrases)):
            if len(items) >= count:
                break
            text = phrase
            roll = rng.random()
            if roll < 0.2:
                text = f"{rng.choice(words.prefixes)} {text}"
            elif roll < 0.35:
                text = f"{text} {rng.choice(words.suffixes)}"
            items.append((text, intent))
    return items


def build(split: str, out_dir: Path) -> list[dict]:
    spec = yaml.safe_load((HERE / "listen_corpus.yaml").read_text())
    rng = random.Random(SPLIT_SEED[split])
    speakers = spec["speakers"][split]
    base: list[dict] = []
    for text, intent in command_texts(split, rng, COMMANDS_PER_SPLIT[split]):
        base.append({"kind": "command", "text": text, "intent": intent})
    for kind in ("chatter", "numbers", "tv"):
        for text in spec[kind].get(split) or ():
            base.append({"kind": kind, "text": text, "intent": None})
    for _ in range(COUGHS_PER_SPLIT[split]):
        base.append({"kind": "cough", "text": "", "intent": None})

    noise = pink_noise(RATE * 30, rng)
    manifest = []
    split_dir = out_dir / split
    split_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for n, item in enumerate(base):
            dry = Path(tmp) / f"{n}.wav"
            if item["kind"] == "cough":
                cough(rng, dry)
                speaker = "sox"
            else:
                spk = rng.choice(speakers)
                effects = ("sinc", "250-4000", "reverb", "40") if item["kind"] == "tv" else ()
                synthesize(spk, item["text"], rng, dry, effects)
                speaker = f"{spk['engine']}:{spk['voice']}"
            speech = read_pcm(dry)
            if item["kind"] == "tv":  # a television across the room: band-limited, quieter
                level_db = rng.uniform(-26, -18)
            else:
                level_db = rng.uniform(-12, -2)
            offset = rng.randrange(len(noise))
            for cond, snr in SNRS.items():
                name = f"{split}-{n:04d}-{cond}.wav"
                write_pcm(split_dir / name, mix(speech, noise, offset, snr, level_db))
                manifest.append({**item, "file": f"{split}/{name}", "split": split, "snr": cond, "speaker": speaker})
            if (n + 1) % 100 == 0 or n + 1 == len(base):
                print(f"{split}: {n + 1}/{len(base)}", file=sys.stderr)
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "listen_corpus")
    parser.add_argument("--splits", nargs="+", default=["dev", "test"])
    args = parser.parse_args()
    for split in args.splits:
        manifest = build(split, args.out)
        with open(args.out / f"{split}.jsonl", "w") as f:
            for row in manifest:
                f.write(json.dumps(row) + "\n")
        print(f"{split}: {len(manifest)} files in {args.out / split}")


if __name__ == "__main__":
    main()
