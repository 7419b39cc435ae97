"""The site links the PDF edition: "Whole book (.pdf)" in every page's download menu.

``make pdf`` (``scripts/pdf.py``) prints the whole course from the built site and puts the PDF
at the site's root as ``loss-functions.pdf``; the publish workflow runs it before deploying. The
theme's own ".pdf" entry prints the page at hand; this one is the book, with its contents,
numbered parts and chapters, and the solutions in an appendix.
"""

from __future__ import annotations

from editions.pdf import PDF_NAME


def link_the_pdf(app, pagename, templatename, context, doctree):
    """Add the book's PDF to the download menu (``html-page-context``, after the theme)."""
    pathto = context.get("pathto")
    if pathto is None:
        return
    for group in context.get("header_buttons", []):
        if group.get("label") != "download-buttons":
            continue
        group["buttons"].append(
            {
                "type": "link",
                "url": pathto(PDF_NAME, 1),
                "text": "Whole book (.pdf)",
                "tooltip": "Download the whole course as one PDF",
                "icon": "fas fa-book",
                "label": "download-book-pdf-button",
            }
        )


def setup(app):
    # After sphinx-book-theme adds its header buttons (priority 501).
    app.connect("html-page-context", link_the_pdf, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
