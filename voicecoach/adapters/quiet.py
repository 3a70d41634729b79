"""Silencing PortAudio's start-up noise and ALSA's run-time complaints, shared by audio output and input."""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os

_ALSA_HANDLER = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p)
_ignore_alsa = _ALSA_HANDLER(lambda *_: None)  # kept referenced: ALSA calls it for as long as the process lives
_alsa_silenced = False


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


@contextlib.contextmanager
def quiet_stderr():
    """PortAudio prints dozens of ALSA/JACK probe lines on fd 2 on machines without a sound card."""
    _silence_alsa()
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
