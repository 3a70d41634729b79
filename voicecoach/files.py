"""Reading the user's files: regular files only, opened without blocking, never read past a size limit."""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path


class NotRegularFile(OSError):
    """A named pipe, device or socket: reading one could wait for ever or never end."""


class FileTooLarge(OSError):
    def __init__(self, size: int, limit: int):
        super().__init__(errno.EFBIG, f"file is too large ({size} bytes; at most {limit})")
        self.size, self.limit = size, limit


def read_regular_file(path: str | Path, limit: int) -> bytes:
    """The bytes of a regular file of at most `limit` bytes. Raises NotRegularFile, FileTooLarge,
    IsADirectoryError, or whatever else opening and reading raise (FileNotFoundError, PermissionError...)."""
    # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer; it changes nothing for a
    # regular file, and fstat on the opened descriptor (not a stat beforehand) cannot be fooled by a swap.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "this is a folder", str(path))
        if not stat.S_ISREG(mode):
            raise NotRegularFile(errno.EINVAL, "not a regular file (a named pipe, device or socket)", str(path))
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise FileTooLarge(max(size, os.fstat(fd).st_size), limit)
        return b"".join(chunks)
    finally:
        os.close(fd)
