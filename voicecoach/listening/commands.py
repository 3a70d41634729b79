"""Bodies of the `hear`, `devices` and `mic-test` subcommands; the CLI only parses options and calls these."""
from __future__ import annotations

import array
import json
import math
import sys
import wave
from typing import IO, Mapping

from voicecoach.listening.endpoint import FRAME_BYTES, SAMPLE_RATE, Segmenter
from voicecoach.adapters.quiet import quiet_stderr
from voicecoach.listening.mic import find_input_device


def read_wav(path: str) -> bytes:
    """16-bit mono 16 kHz PCM from a WAV file; anything else is a clear error."""
    with wave.open(path) as w:
        if (w.getsampwidth(), w.getnchannels(), w.getframerate()) != (2, 1, SAMPLE_RATE):
            raise ValueError(f"{path}: need 16-bit mono 16 kHz WAV (convert with: sox IN -r 16000 -c 1 -b 16 OUT)")
        return w.readframes(w.getnframes())


def hear(files: list[str], as_json: bool, recognizer=None, out: IO[str] = sys.stdout) -> int:
    """Recognise each file; print one result per file. Exit code 1 if any file could not be read."""
    if recognizer is None:
        from voicecoach.listening.recognizer import Recognizer
        recognizer = Recognizer.with_knowledge()
    status = 0
    for path in files:
        try:
            heard = recognizer.recognize(read_wav(path))
        except (OSError, ValueError, EOFError, wave.Error) as error:
            print(f"voicecoach hear: {error}", file=sys.stderr)
            status = 1
            continue
        row = {"file": path, "text": heard.text, "intent": heard.intent, "topic": heard.topic,
               "confidence": heard.confidence, "decode_ms": heard.extra.get("decode_ms")}
        if as_json:
            print(json.dumps(row), file=out)
        else:
            meaning = heard.intent or "not a command"
            if heard.topic:
                meaning += f" ({heard.topic})"
            print(f"{path}: \"{heard.text}\" -> {meaning}, confidence {heard.confidence:.2f}, "
                  f"{row['decode_ms']:.0f} ms", file=out)
    return status


def devices(wording: Mapping[str, str], out: IO[str] = sys.stdout) -> int:
    """List audio inputs, then outputs, by PortAudio index (the index or a part of the name goes to --input-device),
    the system default marked as the one in use; `wording` is lines.en.yaml."""
    try:
        import pyaudio
        with quiet_stderr():
            audio = pyaudio.PyAudio()
    except Exception as error:
        print(f"voicecoach devices: audio system unavailable: {error}", file=sys.stderr)
        return 1
    try:
        found = [audio.get_device_info_by_index(index) for index in range(audio.get_device_count())]
        for heading, key, default in (("devices_inputs", "maxInputChannels", audio.get_default_input_device_info),
                                      ("devices_outputs", "maxOutputChannels", audio.get_default_output_device_info)):
            try:
                in_use = default()["index"]
            except Exception:  # PortAudio raises IOError when there is no default device of this kind
                in_use = None
            print(wording[heading], file=out)
            group = [info for info in found if info.get(key, 0) > 0]
            for info in group:
                print(f"{info['index']}  {info['name']}" + (wording["devices_marker"] if info["index"] == in_use
                                                            else ""), file=out)
            if not group:
                print(wording["devices_none"], file=out)
    finally:
        audio.terminate()
    return 0


def level_dbfs(pcm: bytes) -> float:
    samples = array.array("h", pcm)
    if not samples:
        return -120.0
    rms = math.sqrt(sum(s * s for s in samples) / len(samples))
    return 20 * math.log10(max(rms, 1) / 32768)


def mic_test(seconds: float = 10, device: str | int | None = None, recognizer=None,
             out: IO[str] = sys.stdout) -> int:
    """Listen for `seconds`, say what was heard and how loud the room is."""
    if recognizer is None:
        from voicecoach.listening.recognizer import Recognizer
        recognizer = Recognizer.with_knowledge()
    import speech_recognition as sr
    try:
        with quiet_stderr():
            microphone = sr.Microphone(device_index=find_input_device(device), sample_rate=SAMPLE_RATE,
                                       chunk_size=FRAME_BYTES // 2)
            source = microphone.__enter__()
    except Exception as error:
        print(f"voicecoach mic-test: no microphone: {error}", file=sys.stderr)
        return 1
    print(f"Listening for {seconds:g} seconds: say a command.", file=out)
    segmenter, levels, heard = Segmenter(), [], []
    try:
        for _ in range(int(seconds * SAMPLE_RATE * 2 / FRAME_BYTES)):
            frame = source.stream.read(FRAME_BYTES // 2)
            if len(frame) != FRAME_BYTES:
                continue
            levels.append(level_dbfs(frame))
            utterance = segmenter.feed(frame)
            if utterance is not None:
                heard.append(recognizer.recognize(utterance.pcm))
    except Exception as error:
        print(f"voicecoach mic-test: the microphone stopped: {error}", file=sys.stderr)
        return 1
    finally:
        microphone.__exit__(None, None, None)
    if levels:
        ordered = sorted(levels)
        print(f"Room: quiet level {ordered[len(ordered) // 10]:.0f} dBFS, loudest {ordered[-1]:.0f} dBFS.", file=out)
        if ordered[-1] < -50:
            print("That is very quiet: is the right microphone chosen (voicecoach devices) and unmuted?", file=out)
    for item in heard:
        print(f"Heard \"{item.text}\" -> {item.intent or 'not a command'}", file=out)
    if not heard:
        print("No speech was heard.", file=out)
    return 0
