"""The page's languages: codes, URL prefixes, the content columns of each, and which one
a first visit to `/` is sent to.

English (the default) has no prefix, so the URLs that existed before any translation keep
working; every other language of `settings.LANGUAGES` lives under `/<code>/`. The same
rules are in deploy/nginx.conf.template (filled in from here by deploy/run).
"""

from __future__ import annotations

import re

from django.conf import settings

# Chinese as browsers name it, by script: Taiwan, Hong Kong and Macau write Traditional.
_TRADITIONAL = re.compile(r"zh-(hant|tw|hk|mo)\b", re.IGNORECASE)


def default() -> str:
    return settings.LANGUAGE_CODE


def codes() -> list[str]:
    return [code for code, _ in settings.LANGUAGES]


def others() -> list[str]:
    """The languages with a URL prefix (all but the default)."""
    return [code for code in codes() if code != default()]


def names() -> dict[str, str]:
    return dict(settings.LANGUAGES)


def prefix(code: str) -> str:
    """The URL prefix of a language: "" for the default, "/zh-hans" for the others."""
    return "" if code == default() else f"/{code}"


def directory(code: str) -> str:
    """Where a language's published files live: "" for the default, "zh-hans/" else."""
    return "" if code == default() else f"{code}/"


def field(name: str, code: str) -> str:
    """The content column of `name` in a language: name_zh_hans (modeltranslation's)."""
    return f"{name}_{code.replace('-', '_')}"


def split_path(path: str) -> tuple[str, str]:
    """A URL path as (language, the path without its prefix): /zh-hans/history ->
    ("zh-hans", "/history"); /zh-hans -> ("zh-hans", "/")."""
    for code in others():
        head = f"/{code}"
        if path == head or path.startswith(head + "/"):
            return code, path[len(head) :] or "/"
    return default(), path


def supported(value: str | None) -> str | None:
    """A language code a client named (`zh-hans`, `zh-CN`, `zh_TW`, `en-US`), as one of
    ours; None when it names none of them."""
    if not value:
        return None
    tag = value.strip().replace("_", "-").lower()
    known = codes()
    if tag in known:
        return tag
    if tag == "zh" or tag.startswith("zh-"):
        script = "zh-hant" if _TRADITIONAL.match(tag) else "zh-hans"
        return script if script in known else None
    base = tag.split("-")[0]
    return base if base in known else None


def first_choice(accept_language: str | None) -> str | None:
    """The language of the first tag of an Accept-Language header (browsers list the
    reader's own choice first), if it is one of ours. Only the first: nginx decides a
    first visit to `/` by the same rule, with a regular expression."""
    tag = (accept_language or "").split(",")[0].split(";")[0].strip()
    return supported(tag)


def first_visit(cookie: str | None, accept_language: str | None) -> str:
    """The language a visit to `/` is for: the reader's remembered choice (the switch
    sets one of our codes; any other value counts as the default), else their browser's
    first choice, else the default."""
    if cookie:
        return cookie if cookie in codes() else default()
    return first_choice(accept_language) or default()


def nginx_placeholders() -> dict[str, str]:
    """The parts of deploy/nginx.conf.template drawn from `LANGUAGES` (filled in by
    deploy/run and bench/http.py): the prefixed pages' exact locations, the first-visit
    maps of `/` and OKX's Accept-Language map, by the rules of this module. A request with
    no cookie and no Accept-Language (most clients but browsers) is decided by hash
    lookups alone; the regular expressions run only on a browser's header."""
    prefixed = others()
    alternation = "|".join(re.escape(code) for code in prefixed) or "-none-"
    patterns = []
    for code in prefixed:
        # A browser's first tag, as `supported` reads it (zh-TW is Traditional, zh-CN Simplified).
        if code == "zh-hant":
            pattern = r"zh-(hant|tw|hk|mo)\b"
        elif code == "zh-hans":
            pattern = r"zh\b"
        else:
            pattern = re.escape(code) + r"\b"
        patterns.append((code, pattern))
    # zh-hant's pattern must come before zh-hans's (regexes of a map are tried in order).
    patterns.sort(key=lambda item: item[0] != "zh-hant")
    browser = ['        ""        "";'] + [f'        "~*^\\s*{pattern}" /{code}/;' for code, pattern in patterns]
    cookie = ['        ""        $browser_language;', f'        {default()}        "";']
    cookie += [f"        {code}        /{code}/;" for code in prefixed]
    okx_lines = ['        ""        "";'] + [f'        "~*^\\s*{pattern}" /{code};' for code, pattern in patterns]
    locations = []
    for code in prefixed:
        locations += [
            f"            location = /{code}/ {{ if ($args) {{ return 404; }} if ($cookie_page_zone) {{ return 404; }}"
            f" rewrite ^ /{code}/index.html break; }}",
            f"            location = /{code}/history {{ if ($args) {{ return 404; }} if ($cookie_page_zone) {{ return 404; }}"
            f" rewrite ^ /{code}/history.html break; }}",
            f"            location = /{code}/funding {{ if ($args) {{ return 404; }} if ($cookie_page_zone) {{ return 404; }}"
            f" rewrite ^ /{code}/funding.html break; }}",
            f"            location = /{code}/history.atom {{ if ($args) {{ return 404; }} }}",
            f"            location = /{code}/history.rss {{ if ($args) {{ return 404; }} }}",
        ]
    return {
        "@LANGUAGES@": alternation,
        "@BROWSER_LANGUAGE_MAP@": "\n".join(browser),
        "@FIRST_VISIT_MAP@": "\n".join(cookie),
        "@OKX_LANGUAGE_MAP@": "\n".join(okx_lines),
        "@LANGUAGE_LOCATIONS@": "\n".join(locations),
    }
