"""Printed output as a reader sees it: a cell's stream messages merged, exactly.

A kernel sends what a cell prints as ``stream`` messages, and where one message ends is a
matter of timing: on a busy machine one ``print("a", "b")`` can arrive as two messages, ``a`` and
`` b\\n``. myst-nb 1.4's ``coalesce_streams`` (``nb_merge_streams``) strips each message before
joining it to the last with a newline, so the same cell renders ``a\\nb`` on one build and ``a b``
on the next. :func:`merge_streams` joins messages of the same stream as the kernel meant them,
byte for byte, and then does what a terminal would with ``\\r`` and ``\\b``. The site
(``_ext/site_extension.py`` puts it in myst-nb's place), the reader notebooks and the test that
compares a fresh run with the book's all use it, so the three always agree.
"""

from __future__ import annotations

import copy
import re

_BACKSPACE = re.compile(r"[^\n]\x08")
_CARRIAGE_RETURN = re.compile(r"[^\n]*\r(?=[^\n])")


def _as_terminal_shows(text: str) -> str:
    """Apply backspaces (erase the character before) and lone carriage returns (restart the line)."""
    while True:
        shorter = _BACKSPACE.sub("", text)
        if shorter == text:
            break
        text = shorter
    return _CARRIAGE_RETURN.sub("", text)


def merge_streams(outputs: list) -> list:
    """One output per stream name (stdout before stderr), its messages joined exactly.

    Other outputs (figures, values) keep their place; each merged stream sits where its first
    message was, and ends with one newline. The input is not modified.
    """
    merged: list = []
    streams: dict[str, dict] = {}
    for output in outputs:
        if output.get("output_type") != "stream":
            merged.append(output)
        elif output["name"] in streams:
            streams[output["name"]]["text"] += output["text"]
        else:
            first = copy.deepcopy(output)
            streams[output["name"]] = first
            merged.append(first)
    for stream in streams.values():
        stream["text"] = _as_terminal_shows(stream["text"]).rstrip() + "\n"
    # stdout and stderr arrive asynchronously: always show stdout first, as myst-nb does.
    if "stdout" in streams and "stderr" in streams:
        out, err = streams["stdout"], streams["stderr"]
        i, j = (next(k for k, o in enumerate(merged) if o is s) for s in (err, out))
        if i < j:
            merged[i], merged[j] = out, err
    return merged
