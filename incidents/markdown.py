"""Markdown for update bodies and postmortems, made safe for the public page.

Operators write Markdown; the page shows HTML. Raw HTML in the source is allowed through
Markdown and then everything is cleaned against an allow-list, so a pasted `<script>` or a
`javascript:` link never reaches a reader active.
"""

from __future__ import annotations

import markdown
import nh3
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "del",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "kbd",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "ol": {"start"},
    "td": {"align"},
    "th": {"align"},
}
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "noopener noreferrer nofollow"


def render_markdown(text: str | None, *, top_heading: int = 1) -> SafeString:
    """Markdown to sanitized HTML.

    `top_heading` is the level a `#` heading becomes. A postmortem shown under the page's
    own `<h2>` passes 2, so its `## Summary` nests below as an `<h3>`.
    """
    if not text:
        return mark_safe("")  # noqa: S308 - empty string
    extensions = ["tables", "fenced_code", "sane_lists"]
    configs = {"tables": {"use_align_attribute": True}}
    if top_heading > 1:
        extensions.append("toc")
        configs["toc"] = {"baselevel": top_heading}
    html = markdown.markdown(text, extensions=extensions, extension_configs=configs, output_format="html")
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel=LINK_REL,
    )
    return mark_safe(clean)  # noqa: S308 - cleaned against the allow-list above
