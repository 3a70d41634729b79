"""The recognizer --recognizer names: the offline default, or a free-text one (Vosk, faster-whisper, Google web)."""
from __future__ import annotations

import functools
import json
import time
from typing import Callable

from voicecoach.intents import parse
from voicecoach.listening import RecognizerUnavailable
from voicecoach.ports import Heard

SAMPLE_RATE = 16000


Understand = Callable[[str], Heard]  # text -> command, routine choice or question: intents.parse with its tables


def _heard(text: str, started: float, name: str, understand: Understand, audio_end: float | None) -> Heard:
    heard = understand(text)
    extra = {"decode_ms": round((time.perf_counter() - started) * 1000, 1), "recognizer": name}
    return Heard(heard.text, heard.intent, heard.topic, heard.confidence, audio_end, extra)


class VoskRecognizer:
    def __init__(self, model_dir: str, understand: Understand = parse):
        try:
            import vosk
        except ImportError:
            raise RecognizerUnavailable("Vosk is not installed: run `pip install vosk`.") from None
        try:
            self.model = vosk.Model(model_dir)
        except Exception:
            raise RecognizerUnavailable(f"No Vosk model in {model_dir!r}: download one from "
                                        "https://alphacephei.com/vosk/models and pass its folder.") from None
        self.vosk, self.understand = vosk, understand

    def recognize(self, pcm: bytes, audio_end: float | None = None) -> Heard:
        started = time.perf_counter()
        recognizer = self.vosk.KaldiRecognizer(self.model, SAMPLE_RATE)
        recognizer.AcceptWaveform(pcm)
        return _heard(json.loads(recognizer.FinalResult()).get("text", ""), started, "vosk", self.understand,
                      audio_end)


class WhisperRecognizer:
    def __init__(self, model_path: str, understand: Understand = parse):
        try:
            from faster_whisper import WhisperModel
        except ImportError:
            raise RecognizerUnavailable("faster-whisper is not installed: run `pip install faster-whisper`.") from None
        try:
            self.model = WhisperModel(model_path, device="cpu", compute_type="int8", local_files_only=True)
        except Exception:
            raise RecognizerUnavailable(f"No faster-whisper model at {model_path!r}: pass a local model folder "
                                        "(for example a converted tiny.en).") from None
        self.understand = understand

    def recognize(self, pcm: bytes, audio_end: float | None = None) -> Heard:
        import array
        started = time.perf_counter()
        samples = [s / 32768 for s in array.array("h", pcm)]
        segments, _ = self.model.transcribe(samples, language="en", beam_size=1)
        text = " ".join(segment.text for segment in segments)
        return _heard(text, started, "whisper", self.understand, audio_end)


class GoogleRecognizer:
    """Online: audio leaves the machine. Off unless the user asks for it."""

    def __init__(self, understand: Understand = parse):
        import speech_recognition as sr
        self.sr, self.recognizer, self.understand = sr, sr.Recognizer(), understand

    def recognize(self, pcm: bytes, audio_end: float | None = None) -> Heard:
        started = time.perf_counter()
        try:
            text = self.recognizer.recognize_google(self.sr.AudioData(pcm, SAMPLE_RATE, 2))
        except self.sr.UnknownValueError:
            text = ""
        except self.sr.RequestError as error:
            raise RecognizerUnavailable(f"Google's web recognizer could not be reached: {error}.") from None
        return _heard(text, started, "google", self.understand, audio_end)


def offline_recognizer(choices: dict[str, str] | None, transcribe: bool):
    """Built in the recognizer's own process: the session's process never imports the recognizer's modules."""
    from voicecoach.listening.recognizer import Recognizer
    return Recognizer.with_knowledge(choices, transcribe=transcribe)


def make_recognizer(name: str = "offline", model: str | None = None, choices: dict[str, str] | None = None):
    """The recognizer named by --recognizer: offline (default: pocketsphinx's grammar with Moonshine's transcript),
    pocketsphinx (the grammar alone), vosk, whisper or google. `choices` maps routine names to ids, so a routine
    can be picked by voice."""
    return recognizer_factory(name, model, choices)()


def recognizer_factory(name: str = "offline", model: str | None = None,
                       choices: dict[str, str] | None = None) -> Callable[[], object]:
    """Checks at once what can be checked quickly (RecognizerUnavailable), and returns what builds the recognizer:
    the offline ones take a second or two to load, which a session spends talking rather than waiting."""
    from voicecoach import knowledge
    if name in ("offline", "pocketsphinx"):
        if name == "offline":
            from voicecoach.listening.moonshine import model_dir
            model_dir()
        from voicecoach.listening.remote import RecognizerProcess
        return functools.partial(RecognizerProcess, functools.partial(offline_recognizer, choices, name == "offline"))
    if name in ("vosk", "whisper") and not model:
        raise RecognizerUnavailable(f"The {name} recognizer needs a model: pass its path with --model.")
    understand = functools.partial(parse, questions=knowledge.match_question, choices=choices)
    path = model or ""  # checked above for the two that need it
    builders = {"vosk": lambda: VoskRecognizer(path, understand),
                "whisper": lambda: WhisperRecognizer(path, understand),
                "google": lambda: GoogleRecognizer(understand)}
    if name not in builders:
        raise RecognizerUnavailable(f"Unknown recognizer {name!r}: choose offline, pocketsphinx, vosk, whisper or "
                                    "google.")
    built = builders[name]()  # at once: a missing package or model is a usage error, not a lost microphone
    return lambda: built
