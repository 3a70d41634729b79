"""Silencing PortAudio's start-up noise and ALSA's run-time complaints, shared by audio output and input."""
from __future__ import annotations

import atexit
import contextlib
import ctypes
import ctypes.util
import os
import threading

_ALSA_HANDLER = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p)
_ignore_alsa = _ALSA_HANDLER(lambda *_: None)  # kept referenced: ALSA calls it for as long as the process lives
_alsa_silenced = False
# Lines PortAudio's ALSA back end prints from its own threads, e.g. when PulseAudio is killed mid-session:
# "Expression 'PaAlsaStream_WaitForFrames( stream, &framesAvail, &xrun )' failed in 'src/hostapi/alsa/...'".
_NOISE = (b"Expression '", b"ALSA lib ", b"PortAudio", b"Cannot connect to server", b"jack server", b"JackShm")
_filtering = False


def _silence_alsa() -> None:
    """ALSA writes lines like "underrun occurred" on stderr mid-session, in the middle of what a screen reader reads."""
    global _alsa_silenced
    if _alsa_silenced:
        return
    _alsa_silenced = True
    name = ctypes.util.find_library("asound")
    try:
        ctypes.CDLL(name or "libasound.so.2").snd_lib_error_set_handler(_ignore_alsa)
    except (OSError, AttributeError):
        pass


def _filter_audio_noise() -> None:
    """Once per process, fd 2 becomes a pipe that drops PortAudio's lines and passes every other one on: those
    lines come from audio threads at any moment of a session, where no quiet_stderr() block can be around them."""
    global _filtering
    if _filtering:
        return
    try:
        real = os.dup(2)
        reading, writing = os.pipe()
    except OSError:
        return
    _filtering = True
    os.dup2(writing, 2)
    os.close(writing)
    thread = threading.Thread(target=_pass_on, args=(reading, real), name="voicecoach-stderr", daemon=True)
    thread.start()
    atexit.register(_stop_filtering, real, thread)


def _pass_on(reading: int, real: int) -> None:
    pending = b""
    while True:
        try:
            data = os.read(reading, 65536)
        except OSError:
            data = b""
        if not data:
            break
        *lines, pending = (pending + data).split(b"\n")
        kept = b"".join(line + b"\n" for line in lines if not line.startswith(_NOISE))
        if pending and not pending.startswith(_NOISE) and not any(n.startswith(pending) for n in _NOISE):
            kept, pending = kept + pending, b""  # a prompt or a partial line: show it now
        with contextlib.suppress(OSError):
            if kept:
                os.write(real, kept)
    with contextlib.suppress(OSError):
        if pending and not pending.startswith(_NOISE):
            os.write(real, pending)


def _stop_filtering(real: int, thread: threading.Thread) -> None:
    """At exit, let what is still in the pipe through before the process goes."""
    import sys
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    with contextlib.suppress(OSError):
        os.dup2(real, 2)  # the pipe's last writer closes: the thread reads to its end and stops
    thread.join(timeout=1)


@contextlib.contextmanager
def quiet_stderr():
    """PortAudio prints dozens of ALSA/JACK probe lines on fd 2 on machines without a sound card."""
    _silence_alsa()
    _filter_audio_noise()
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
