"""Full-page screenshots of every page of the built site, in light and dark mode, for review.

Usage: python scripts/screenshots.py [--site _build/html] [--out _build/screenshots] [PAGE ...]

``make screenshots`` runs it on the site ``make book`` built. It serves the site on 127.0.0.1,
opens each page the table of contents lists (or the pages given, e.g. ``chapters/what-is-a-loss``)
in Debian's Chromium at 1280 x 900, waits for MathJax, and writes ``NAME.png`` and
``NAME-dark.png`` (``chapters/what-is-a-loss`` -> ``chapters__what-is-a-loss.png``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


from editions.toc import toc_files
from site_browser import Reader, chromium, missing_requirements, serve

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="*", help="pages to shoot (default: every page of the toc)")
    parser.add_argument("--site", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "screenshots")
    args = parser.parse_args(argv)
    if not (args.site / "index.html").is_file():
        print(f"no site in {args.site}: run `make book` first", file=sys.stderr)
        return 2
    if reason := missing_requirements():
        print(reason, file=sys.stderr)
        return 2
    pages = args.pages or toc_files()
    args.out.mkdir(parents=True, exist_ok=True)
    with serve(args.site) as base_url, chromium() as browser:
        for dark in (False, True):
            reader = Reader(browser, base_url, dark=dark)
            try:
                for page in pages:
                    visit = reader.open(f"{page}.html")
                    path = args.out / f"{page.replace('/', '__')}{'-dark' if dark else ''}.png"
                    reader.page.screenshot(path=str(path), full_page=True)
                    problems = visit.console_errors + visit.failed_requests + visit.external_requests
                    note = f"  ({len(problems)} problems: {problems[0]} ...)" if problems else ""
                    print(f"{visit.ready_s:5.1f} s  {path.relative_to(args.out.parent)}{note}")
            finally:
                reader.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
