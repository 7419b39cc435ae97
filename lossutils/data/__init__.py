"""Small public-domain texts shipped with the course, so that nothing downloads at run time.

Sources, editions, licences and the cleaning applied are in ``README.md`` beside this file.
"""

from __future__ import annotations

from importlib import resources

__all__ = ["TEXTS", "load_text"]

#: The texts this package ships, each name with its file in this folder.
TEXTS = {"alice": "alice.txt"}


def load_text(name: str = "alice") -> str:
    """Return a shipped text as one string, exactly as stored (``\\n`` line endings).

    Args:
        name: which text; one of :data:`TEXTS` (``"alice"``: Lewis Carroll's *Alice's
            Adventures in Wonderland*, 1865, about 144 thousand characters).

    Returns:
        The text.

    Taught in: :ref:`sequences`

    Example:
        >>> text = load_text("alice")
        >>> text.splitlines()[0]
        "ALICE'S ADVENTURES IN WONDERLAND"
    """
    if name not in TEXTS:
        raise ValueError(f"name must be one of {sorted(TEXTS)}, got {name!r}")
    return resources.files(__name__).joinpath(TEXTS[name]).read_text(encoding="ascii")
