"""The course's editions of a chapter, made from its MyST source and the book build's results.

A chapter is written once, as a MyST Markdown notebook in ``chapters/``. The book build executes
it and renders the website. This package makes the other editions from the same source:

* :func:`editions.reader.reader_notebook`: the **reader notebook** that students download from
  the site, open on Colab and run in JupyterLab (``make notebooks``, ``make lab``): plain
  Markdown that any notebook viewer renders, glued numbers filled in, check cells dropped.
* the coursework's student notebooks reuse the same conversion with solutions removed or
  stubbed (``solutions=`` and ``drop_tags=`` of :func:`~editions.reader.reader_notebook`).

Modules, one job each:

* :mod:`editions.myst`: MyST roles and directives to plain Markdown, one function per construct;
* :mod:`editions.targets`: where a cross-reference points on the published site, and its number;
* :mod:`editions.bibliography`: citations as (Author, Year) and a chapter's reference list;
* :mod:`editions.site`: the published site's URL and the repository's (one place for both);
* :mod:`editions.toc`: the chapters the table of contents lists.
"""
