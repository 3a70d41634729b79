"""Allows `python -m voicecoach`."""
from voicecoach.cli import main

raise SystemExit(main())
