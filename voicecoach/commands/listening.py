"""Bodies of the `hear`, `devices`, `mic-test` and `tutorial` subcommands; the CLI only parses options and calls these."""
from __future__ import annotations

import argparse
import array
import io
import json
import math
import queue
import sys
import time
import wave
from dataclasses import dataclass
from typing import IO, Callable, Mapping

from voicecoach.listening.endpoint import FRAME_BYTES, SAMPLE_RATE, Segmenter
from voicecoach.audio_noise import quiet_stderr
from voicecoach.commands.common import MIC_TEST_MAX_SECONDS, UsageError, load_user_settings, mark_tutorial_offered, print_line
from voicecoach.commands.wiring import recognizer_builder
from voicecoach.files import FileTooLarge, NotRegularFile, read_regular_file
from voicecoach.listening.mic import find_input_device
from voicecoach.package_data import lines
from voicecoach.ports import Heard, Listener
from voicecoach.stats import percentile


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


QUIET_ROOM_DB = -50      # the room's usual level (its 10th percentile frame) below this is quiet,
NOISY_ROOM_DB = -35      # above this noisy; between, a little noisy
FAINT_VOICE_DB = -40     # speech (its 90th percentile frame) below this is faint
VOICE_OVER_ROOM_DB = 15  # speech less than this above the room is hard to tell from it
SILENT_DB = -50          # nothing louder than this in the whole test: likely the wrong or a muted microphone


def _frame_levels(pcm: bytes) -> list[float]:
    return [level_dbfs(pcm[at:at + FRAME_BYTES]) for at in range(0, len(pcm) - FRAME_BYTES + 1, FRAME_BYTES)]


def _meaning(heard: Heard, wording: Mapping[str, str]) -> str:
    if heard.intent == "ask":
        return wording["mic_question" if heard.topic else "mic_unanswered"]
    if heard.intent:
        from voicecoach.intents import vocabulary
        phrase = next((phrase for phrase, intent in vocabulary().phrases.items() if intent == heard.intent),
                      heard.intent.replace("_", " "))  # its first phrasing in intents.yaml
        return wording["mic_command"].format(command=phrase)
    return wording["mic_not_command"]


def mic_report(heard: list[Heard], levels: list[float], voice: list[float],
               wording: Mapping[str, str]) -> tuple[list[str], str]:
    """What mic-test says, one sentence a line, in plain words; then the levels in numbers (printed only).
    `levels`: dBFS of every frame heard; `voice`: of the frames inside the speech."""
    said = [wording["mic_heard"].format(text=item.text.strip().rstrip(".?!"), meaning=_meaning(item, wording))
            for item in heard if item.text.strip()]
    if not levels:
        return said or [wording["mic_nothing"]], ""
    room, loudest = percentile(levels, 10), max(levels)
    if not said:
        said = [wording["mic_silent" if loudest < SILENT_DB else "mic_nothing"]]
    room_words = wording["mic_room_quiet" if room < QUIET_ROOM_DB else
                         "mic_room_noisy" if room > NOISY_ROOM_DB else "mic_room_some_noise"]
    if not voice:
        said.append(wording["mic_room"].format(room=room_words))
        return said, wording["mic_numbers_no_voice"].format(room=f"{room:.0f}", loudest=f"{loudest:.0f}")
    speech = percentile(voice, 90)
    voice_words = wording["mic_voice_faint" if speech < FAINT_VOICE_DB else
                          "mic_voice_drowned" if speech - room < VOICE_OVER_ROOM_DB else "mic_voice_clear"]
    said.append(wording["mic_levels"].format(room=room_words, voice=voice_words))
    return said, wording["mic_numbers"].format(room=f"{room:.0f}", voice=f"{speech:.0f}")


# The coach heard through the speakers is taken out well when the canceller removes this much of it (median frame).
ECHO_REMOVED_WELL_DB = 20.0


def echo_report(summary, wording: Mapping[str, str]) -> str:
    """Whether the microphone hears the coach, and how much of it the canceller removes, in plain words."""
    if summary is None or not summary.coach_audible:
        return wording["mic_echo_not_heard"]
    removed = f"{max(summary.removed_db, 0.0):.0f}"
    return wording["mic_echo_removed" if summary.removed_db >= ECHO_REMOVED_WELL_DB else "mic_echo_weak"].format(
        removed=removed)


def _echo_check(source, settings, wording: Mapping[str, str]):
    """Say one sentence through the coach's own player, its sound handed to the echo canceller, while the open
    microphone records: the canceller's summary of it (None if nothing could be played)."""
    import threading

    from voicecoach.listening.echo import EchoCanceller, PlayedAudio
    from voicecoach.speech import SpeechUnavailable
    from voicecoach.speech.clips import RATE
    from voicecoach.speech.pyttsx3_speaker import Pyttsx3Speaker
    from voicecoach.adapters.clock import MonotonicClock
    clock, done = MonotonicClock(), threading.Event()
    played = PlayedAudio(RATE)

    def notify(name: str, fields: dict) -> None:
        if name == "speech_end":
            done.set()
    try:
        speaker = Pyttsx3Speaker(settings, clock, notify, tap=played.write)
    except SpeechUnavailable:
        return None
    canceller = EchoCanceller(played)
    try:
        speaker.say(wording["mic_echo_check"], utterance_id=1, kind="info")
        deadline = clock.now() + 20
        while not done.is_set() and clock.now() < deadline:
            frame = source.stream.read(FRAME_BYTES // 2)
            if len(frame) == FRAME_BYTES:  # its first sample was captured a frame's length ago, or earlier
                canceller.clean(frame, clock.now() - FRAME_BYTES / 2 / SAMPLE_RATE)
    finally:
        speaker.close()
    return canceller.summary()


def mic_test(seconds: float = 10, device: str | int | None = None, recognizer=None,
             out: IO[str] = sys.stdout, wording: Mapping[str, str] | None = None,
             speak: Callable[[str], object] | None = None, details: bool = False, echo_settings=None) -> int:
    """Listen for `seconds`, then say (through `speak`, if given) and print what was heard and how the room and
    voice sound, in plain words; the levels in numbers follow on their own line. With `echo_settings` (the
    speech settings, when the coach's own player speaks) it then says one sentence and reports whether the
    microphone heard it and how much of it the echo canceller removes."""
    if wording is None:
        wording = lines()
    if recognizer is None:
        from voicecoach.listening.recognizer import Recognizer
        recognizer = Recognizer.with_knowledge()
    prompt = wording["mic_listening"].format(seconds=f"{seconds:g}")
    if speak is not None:  # before the microphone opens, so the prompt is not heard as the user
        speak(prompt)
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
    print(prompt, file=out, flush=True)  # printed once listening has begun
    segmenter, levels, heard, voice = Segmenter(), [], [], []
    try:
        for _ in range(int(seconds * SAMPLE_RATE * 2 / FRAME_BYTES)):
            frame = source.stream.read(FRAME_BYTES // 2)
            if len(frame) != FRAME_BYTES:
                continue
            levels.append(level_dbfs(frame))
            utterance = segmenter.feed(frame)
            if utterance is not None:
                heard.append(recognizer.recognize(utterance.pcm))
                voice.extend(_frame_levels(utterance.pcm))
        echo = None
        if echo_settings is not None:
            print(wording["mic_echo_check"], file=out, flush=True)
            echo = echo_report(_echo_check(source, echo_settings, wording), wording)
    except Exception as error:
        print(f"voicecoach mic-test: the microphone stopped: {error}", file=sys.stderr)
        return 1
    finally:
        microphone.__exit__(None, None, None)
    said, numbers = mic_report(heard, levels, voice, wording)
    if echo is not None:
        said.append(echo)
    for sentence in said:
        print(sentence, file=out, flush=True)
    if numbers:
        print(numbers, file=out, flush=True)
    if details:
        for item in heard:
            print(wording["mic_details"].format(text=item.text, intent=item.intent or "none",
                                                topic=f" ({item.topic})" if item.topic else "",
                                                confidence=f"{item.confidence:.2f}"), file=out, flush=True)
    if speak is not None:
        speak(" ".join(said))
    return 0


@dataclass(frozen=True)
class Lesson:
    """One step of the tutorial: what to try (a lines key), the command that counts, what is said then."""
    ask: str
    intent: str
    good: str


LESSONS = (Lesson("tutorial_pause", "pause", "tutorial_pause_good"),
           Lesson("tutorial_resume", "resume", "tutorial_resume_good"))
TRIES = 2                  # attempts per lesson before the microphone is taken to be the trouble


def tutorial(listen: Callable[[Callable[[str, dict], None]], Listener], wording: Mapping[str, str],
             speak: Callable[[str], object] | None = None, out: IO[str] = sys.stdout, wait_s: float = 8.0) -> int:
    """A short spoken practice that checks the microphone: say pause, then resume, each heard and praised.
    `listen(notify)` gives a started-able Listener; exit code 0 if every lesson was heard, else 1."""
    heard: queue.Queue = queue.Queue()
    lost: list[str] = []

    def notify(name: str, fields: dict) -> None:
        if name == "input_lost":
            lost.append(str(fields.get("error", "")))
            heard.put(None)  # wake the wait

    listener = listen(notify)

    def say(key: str, **values) -> None:
        text = wording[key].format(**values)
        listener.coach_speaking(text)
        if speak is not None:
            speak(text)
        listener.coach_speaking(None)
        print(text, file=out, flush=True)  # printed once it is said: the moment to answer
        while not heard.empty():  # heard while the coach spoke: its own voice, or too early to be an answer
            if heard.get_nowait() is None:
                heard.put(None)
                break

    def answer() -> Heard | None:
        deadline = time.monotonic() + wait_s
        while not lost and (left := deadline - time.monotonic()) > 0:
            try:
                item = heard.get(timeout=left)
            except queue.Empty:
                return None
            if item is not None and item.text.strip() and not item.extra.get("echo"):
                return item
        return None

    listener.start(heard.put)
    try:
        say("tutorial_intro")
        for lesson in LESSONS:
            for attempt in range(1, TRIES + 1):
                say(lesson.ask)
                reply = answer()
                if lost:
                    say("tutorial_no_microphone", error=lost[0])
                    return 1
                if reply is not None and reply.intent == lesson.intent:
                    say(lesson.good)
                    break
                if attempt == TRIES:
                    say("tutorial_not_heard")
                    return 1
                if reply is None:
                    say("tutorial_nothing")
                else:
                    say("tutorial_other", text=reply.text.strip().rstrip(".?!"), command=lesson.intent)
        say("tutorial_done")
        return 0
    finally:
        listener.stop()


def cmd_hear(args: argparse.Namespace) -> int:
    from voicecoach.listening.factory import RecognizerUnavailable, make_recognizer
    try:
        recognizer = make_recognizer(args.recognizer, args.model)
    except RecognizerUnavailable as error:
        raise UsageError(str(error)) from None
    return hear(args.files, args.json, recognizer)


def cmd_devices(args: argparse.Namespace) -> int:
    return devices(lines())


def cmd_tutorial(args: argparse.Namespace) -> int:
    from voicecoach.adapters.clock import MonotonicClock
    from voicecoach.listening.mic import MicListener
    settings = load_user_settings(args)
    build = recognizer_builder(args.recognizer, args.model, {})
    speaker = None
    if settings.speaker != "print":  # opened before the microphone, as in a session
        from voicecoach.speech import SpeechUnavailable
        from voicecoach.speech.line_speaker import LineSpeaker
        try:
            speaker = LineSpeaker(settings)
        except SpeechUnavailable as error:
            print_line(f"{error} {lines()['speech_fallback']}")
    mark_tutorial_offered()
    try:
        return tutorial(lambda notify: MicListener(MonotonicClock(), device=args.input_device,
                                                   recognizer_factory=build, notify=notify),
                        lines(), speaker.say if speaker is not None else None)
    finally:
        if speaker is not None:
            speaker.close()


def cmd_mic_test(args: argparse.Namespace) -> int:
    if not 0 < args.seconds <= MIC_TEST_MAX_SECONDS:  # also NaN; 0 crashed in PortAudio's thread
        raise UsageError(f"--seconds must be a number of seconds above 0 and up to {MIC_TEST_MAX_SECONDS},"
                         f" not {args.seconds:g}; for example: voicecoach mic-test --seconds 10")
    settings = load_user_settings(args)
    speak = None
    if settings.speaker != "print":  # printing it again would only repeat it
        from voicecoach.speech import SpeechUnavailable
        from voicecoach.speech.line_speaker import say_once

        def speak(text: str) -> None:
            try:
                say_once(text, settings)
            except SpeechUnavailable:
                pass  # the lines are printed all the same
    return mic_test(args.seconds, args.input_device, wording=lines(), speak=speak, details=args.details,
                    echo_settings=settings if settings.speaker == "pyttsx3" else None)
