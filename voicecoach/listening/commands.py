"""Bodies of the `hear`, `devices` and `mic-test` subcommands; the CLI only parses options and calls these."""
from __future__ import annotations

import array
import io
import json
import math
import sys
import wave
from typing import IO

from voicecoach.listening.endpoint import FRAME_BYTES, SAMPLE_RATE, Segmenter
from voicecoach.adapters.quiet import quiet_stderr
from voicecoach.files import FileTooLarge, NotRegularFile, read_regular_file
from voicecoach.listening.mic import find_input_device


# Ten minutes of 16 kHz 16-bit mono and its header: a recorded command is seconds long.
MAX_WAV_BYTES = 10 * 60 * SAMPLE_RATE * 2 + 4096
NO_SOUND = "the file holds no sound"
WAV_FORMAT = "need a 16-bit mono 16 kHz WAV file (convert with: sox IN -r 16000 -c 1 -b 16 OUT)"


def read_wav(path: str) -> bytes:
    """16-bit mono 16 kHz PCM from a regular WAV file; anything else is a ValueError or OSError saying why."""
    with wave.open(io.BytesIO(read_regular_file(path, MAX_WAV_BYTES))) as w:
        if (w.getsampwidth(), w.getnchannels(), w.getframerate()) != (2, 1, SAMPLE_RATE):
            raise ValueError(WAV_FORMAT)
        if not w.getnframes():
            raise ValueError(NO_SOUND)
        return w.readframes(w.getnframes())


def wav_problem(error: Exception) -> str:
    """Why a WAV file could not be heard, in words, without the file name."""
    if isinstance(error, FileNotFoundError):
        return "file not found"
    if isinstance(error, IsADirectoryError):
        return "this is a folder, not a WAV file"
    if isinstance(error, PermissionError):
        return "cannot read this file: permission denied"
    if isinstance(error, FileTooLarge):
        return f"file is too large ({error.size // 1024} KiB); at most ten minutes ({MAX_WAV_BYTES // 1024} KiB) is heard"
    if isinstance(error, NotRegularFile):
        return "this is not a regular file (a named pipe, device or socket); give a recorded WAV file"
    if isinstance(error, OSError):
        return f"cannot read this file: {error.strerror or error}"
    if isinstance(error, ValueError) and str(error) in (WAV_FORMAT, NO_SOUND):
        return str(error)
    return f"not a WAV file this can read ({error}); {WAV_FORMAT}"


def hear(files: list[str], as_json: bool, recognizer=None, out: IO[str] = sys.stdout) -> int:
    """Recognise each file; print one result per file. Exit code 1 if any file could not be read; each error
    names its file."""
    if recognizer is None:
        from voicecoach.listening.recognizer import Recognizer
        recognizer = Recognizer.with_knowledge()
    status = 0
    for path in files:
        try:
            pcm = read_wav(path)
        except (OSError, ValueError, EOFError, wave.Error) as error:
            print(f"voicecoach hear: {path}: {wav_problem(error)}", file=sys.stderr)
            status = 1
            continue
        try:
            heard = recognizer.recognize(pcm)
        except (OSError, ValueError) as error:
            print(f"voicecoach hear: {path}: could not be recognised ({error})", file=sys.stderr)
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


def devices(out: IO[str] = sys.stdout) -> int:
    """List audio inputs and outputs by PortAudio index (use the index or a part of the name with --input-device)."""
    try:
        import pyaudio
        with quiet_stderr():
            audio = pyaudio.PyAudio()
    except Exception as error:
        print(f"voicecoach devices: audio system unavailable: {error}", file=sys.stderr)
        return 1
    try:
        for index in range(audio.get_device_count()):
            info = audio.get_device_info_by_index(index)
            kinds = [kind for kind, key in (("input", "maxInputChannels"), ("output", "maxOutputChannels"))
                     if info.get(key, 0) > 0]
            print(f"{index:3d}  {'/'.join(kinds):12s}  {info['name']}", file=out)
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
        if source.stream is None:  # SpeechRecognition hides a failed open this way
            raise OSError("no input device could be opened")
    except Exception as error:
        print(f"voicecoach mic-test: no microphone ({error}); check that one is connected and switched on, "
              "and see: voicecoach devices", file=sys.stderr)
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
