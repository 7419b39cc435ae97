"""The course's editions of a chapter, made from its MyST source and the book build's results.

A chapter is written once, as a MyST Markdown notebook in ``chapters/``. The book build executes
it and renders the website. This package makes the other editions from the same source:

* :func:`editions.reader.reader_notebook`: the **reader notebook** that students download from
  the site, open on Colab and run in JupyterLab (``make notebooks``, ``make lab``): plain
  Markdown that any notebook viewer renders, glued numbers filled in, check cells dropped.
* the coursework's student notebooks reuse the same conversion with solutions removed or
  stubbed (``solutions=``, ``stub=`` and ``drop_tags=`` of
  :func:`~editions.reader.reader_notebook`).

Inside the book build :mod:`editions.sphinx` makes the reader notebooks. After a build, any tool
makes the same notebook from the files the build leaves::

    from editions.bibliography import Bibliography
    from editions.reader import load_glue, reader_notebook
    from editions.site import Site
    from editions.targets import Targets

    site = Site.from_config()
    notebook = reader_notebook(
        Path("chapters/what-is-a-loss.md"),
        load_glue(Path("_build/jupyter_execute/chapters/what-is-a-loss.glue.json")),
        site=site, targets=Targets.from_doctrees(Path("_build/.doctrees"), site.url),
        bibliography=Bibliography(), docname="chapters/what-is-a-loss",
        solutions="remove", drop_tags=("check", "test"), stub=my_stub,  # a student edition
    )

Modules, one job each:

* :mod:`editions.myst`: MyST roles and directives to plain Markdown, one function per construct;
* :mod:`editions.targets`: where a cross-reference points on the published site, and its number;
* :mod:`editions.bibliography`: citations as (Author, Year) and a chapter's reference list;
* :mod:`editions.site`: the published site's URL and the repository's (one place for both);
* :mod:`editions.toc`: the chapters the table of contents lists;
* :mod:`editions.outline`: what each chapter teaches and needs first (``_outline.yml``), its
  reading time, and the chapter-opening box as Markdown.
"""
