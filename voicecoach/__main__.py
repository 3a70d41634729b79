"""`python -m voicecoach` and the console entry point: Ctrl-C at any moment, during imports too, exits quietly."""
import sys


def _quiet_interrupt(kind, value, tb, _default=sys.excepthook):
    """A Ctrl-C that slips past run() (between its lines) ends the program by the signal, without a traceback."""
    if not issubclass(kind, KeyboardInterrupt):
        _default(kind, value, tb)


def run() -> int:
    sys.excepthook = _quiet_interrupt
    try:
        from voicecoach.cli import main  # its imports take a while: Ctrl-C then must not print a traceback
        return main()
    except KeyboardInterrupt:  # as main() itself does: exit 0, the session (if any) is resumable
        return 0


if __name__ == "__main__":
    sys.exit(run())
