"""Where the course lives: its title, its GitHub repository and its published site, in one place.

The publish workflow (``.github/workflows/publish.yml``) deploys the site with GitHub Pages, so
its address follows from the repository in ``_config.yml``:
``https://github.com/OWNER/REPO`` is published at ``https://OWNER.github.io/REPO/``. A book
that sets ``html: baseurl:`` in ``_config.yml`` (a custom domain) is published there instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "_config.yml"


@dataclass(frozen=True)
class Site:
    """The book's title, its repository and the root URL of its published site."""

    title: str
    repository: str  # https://github.com/OWNER/REPO
    url: str  # https://OWNER.github.io/REPO/, always ending in "/"

    @classmethod
    def from_config(cls, config_path: Path = CONFIG) -> Site:
        """Read ``_config.yml`` (Jupyter Book's configuration)."""
        config = yaml.safe_load(Path(config_path).read_text())
        repository = (config.get("repository") or {}).get("url", "")
        baseurl = (config.get("html") or {}).get("baseurl", "")
        return cls(
            config.get("title", ""), repository.rstrip("/"), published_url(repository, baseurl)
        )

    @classmethod
    def from_sphinx(cls, config) -> Site:
        """Read the Sphinx configuration Jupyter Book made from ``_config.yml``."""
        repository = (config.html_theme_options or {}).get("repository_url", "")
        # Jupyter Book passes _config.yml's title as html_title (Sphinx's project stays unset).
        return cls(
            config.html_title,
            repository.rstrip("/"),
            published_url(repository, config.html_baseurl),
        )


def published_url(repository: str, baseurl: str = "") -> str:
    """The published site's root URL: ``baseurl`` if set, else the repository's GitHub Pages.

    Raises:
      ValueError: when ``baseurl`` is empty and ``repository`` is not a GitHub repository URL.
    """
    if baseurl:
        return baseurl.rstrip("/") + "/"
    parts = urlsplit(repository)
    owner_repo = [p for p in parts.path.split("/") if p]
    if parts.netloc != "github.com" or len(owner_repo) != 2:
        raise ValueError(
            f"cannot derive the published site's URL from the repository {repository!r}: "
            "expected https://github.com/OWNER/REPO in _config.yml, or set html.baseurl"
        )
    owner, repo = owner_repo
    return f"https://{owner.lower()}.github.io/{repo}/"
