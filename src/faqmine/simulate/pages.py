"""Whole FAQ pages: HTML around the markup, the page's declared language and charset, HTTP headers.

A page is rendered from a `FaqPageSpec` with its own random stream (seeded by the
site and the page), so the same spec always gives the same bytes. Four template
families (WordPress, shop, static, help desk) differ in head, assets and where the
JSON-LD sits; running text around the FAQ is real text of the same XQuAD article
in the page's language. `render_faq_page` also returns the QAs the extraction
stage must find, in its order (JSON-LD blocks, then Microdata, then RDFa; empty
and repeated QAs left out).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime

from faqmine.simulate.fragments import escape, escape_attr
from faqmine.simulate.locale import FAQ_TITLE, LANGUAGE_NAME, NAV, REGIONS, RTL, UTF8
from faqmine.simulate.markup import (
    JSONLD_QUIRKS,
    JsonStyle,
    RenderQA,
    accordion,
    add_quirk,
    jsonld_scripts,
    microdata,
    rdfa,
    render_qa,
)
from faqmine.simulate.responses import HttpResponse, server_headers
from faqmine.simulate.sites import FaqPageSpec, QAItem, Site
from faqmine.simulate.xquad import XQuadCorpus

BROKEN_SENTINEL = "__FAQMINE_BROKEN_VALUE__"
_EMPTY_FORMS = ("", " ", "<p></p>", "&nbsp;", "<p>&nbsp;</p>", "\n")
_CSS_PROPS = ("color", "margin", "padding", "font-size", "line-height", "border", "background", "display",
              "max-width", "font-weight", "text-align", "border-radius", "box-shadow", "transition", "gap")
_CSS_VALUES = ("0", "1rem", "12px", "1.5", "#1d2327", "#f0f0f1", "none", "flex", "block", "auto", "600",
               "center", "4px", "0 1px 3px rgba(0,0,0,.12)", "all .2s ease-in-out", "100%", "inherit")
_ASSETS = {
    "wordpress": ("/wp-includes/css/dist/block-library/style.min.css?ver=6.4.3",
                  "/wp-content/themes/astra/assets/css/minified/main.min.css?ver=4.6.4",
                  "/wp-content/plugins/elementor/assets/css/frontend-lite.min.css?ver=3.19.2"),
    "shop": ("//cdn.shopify.com/s/files/1/0612/theme/assets/base.css?v=1698742",
             "//cdn.shopify.com/s/files/1/0612/theme/assets/component-accordion.css?v=1698742"),
    "static": ("https://cdn.jsdelivr.net/npm/bootstrap@5.3.2/dist/css/bootstrap.min.css", "/assets/css/site.css"),
    "helpdesk": ("/hc/theming_assets/01HZ/style.css", "/hc/assets/application-7f2e.css"),
}


@dataclass
class RenderedPage:
    html: str
    response: HttpResponse
    qas: list[tuple[QAItem, str]]  # the QAs extraction must find, in order, with the markup each was first found in
    declared_lang: str | None
    charset: str
    charset_declared: str  # http | meta | both | none | bom
    markup: str
    jsonld_shape: str | None
    jsonld_quirk: str | None
    extra: dict = field(default_factory=dict)


def site_css(site: Site) -> str:
    """The theme's inline stylesheet: one per site, 2 to 30 kB, deterministic."""
    if site.css is None:
        rng = random.Random(site.render_seed)
        rules = []
        for i in range(rng.randint(20, 260)):
            selector = rng.choice((".site-header", ".entry-content", ".faq-item", ".btn", "#content", ".nav a",
                                   ".footer-widget", ".accordion-button", "h1", "h2", ".wp-block-group"))
            decls = ";".join(f"{rng.choice(_CSS_PROPS)}:{rng.choice(_CSS_VALUES)}" for _ in range(rng.randint(1, 6)))
            rules.append(f"{selector}{'' if i % 3 else f'.v{i}'}{{{decls}}}")
        site.css = "\n".join(rules)
    return site.css


def declared_language(site: Site, language: str) -> str | None:
    """What `<html lang>` says: the page's language (bare or with region), or a template's wrong default."""
    code = language
    if site.lang_bug == "missing":
        return None
    if site.lang_bug == "primary":
        code = site.primary
    elif site.lang_bug == "theme_default":
        return "en-US"
    regions = REGIONS[code]
    style = site.render_seed % 3
    return code if style == 0 else regions[(site.render_seed // 3) % len(regions)]


def _charset_declaration(site: Site, rng: random.Random) -> str:
    if site.charset is UTF8:
        return rng.choices(("both", "http", "meta", "none", "bom"), weights=(0.55, 0.2, 0.15, 0.09, 0.01))[0]
    return rng.choices(("http", "meta", "both"), weights=(0.4, 0.4, 0.2))[0]


def _truth_order(blocks: list[tuple[str, list[RenderQA], list[QAItem | None]]]) -> list[tuple[QAItem, str]]:
    """QAs the extraction stage emits: JSON-LD, then Microdata, then RDFa; empty ones skipped; repeats once."""
    order = {"jsonld": 0, "microdata": 1, "rdfa": 2}
    seen: set[tuple[str, str]] = set()
    out: list[tuple[QAItem, str]] = []
    for markup, rqas, items in sorted(blocks, key=lambda b: order[b[0]]):
        for rqa, item in zip(rqas, items, strict=True):
            if item is None or not rqa.question or not rqa.answer:
                continue
            key = (rqa.question, rqa.answer)
            if key in seen:
                continue
            seen.add(key)
            out.append((item, markup))
    return out


def render_faq_page(spec: FaqPageSpec, corpus: XQuadCorpus, when: datetime, *, markup: str | None = None,
                    shape: str | None = None, empty: str | None = None, broken: bool = False,
                    status: int = 200) -> RenderedPage:
    """Render one FAQ page. `empty` ("answers"/"questions") and `broken` build the bad records of those kinds."""
    site = spec.site
    rng = random.Random(f"{site.render_seed}/{spec.uid}/{spec.url}")
    markup = markup or site.markup
    shape = shape or site.jsonld_shape
    language = spec.language
    link_host = site.host

    items: list[QAItem | None] = list(spec.qas)
    rqas = [render_qa(qa.question, qa.answer, rng, site.answer_html, link_host) for qa in spec.qas]
    if spec.empty_placeholder and not empty and not broken:
        # a question whose answer the editor never filled in: the extractor skips it
        used = {qa.qid for qa in spec.qas}
        spare = [q for q in corpus.article_qids[spec.article] if q not in used]
        if spare:
            question = corpus.qa(language, rng.choice(spare)).question
            at = rng.randrange(len(rqas) + 1)
            rqas.insert(at, RenderQA(question, "", escape(question), rng.choice(_EMPTY_FORMS)))
            items.insert(at, None)
    if empty == "answers":
        rqas = [RenderQA(q.question, "", q.question_html, rng.choice(_EMPTY_FORMS)) for q in rqas]
    elif empty == "questions":
        rqas = [RenderQA("", q.answer, rng.choice(_EMPTY_FORMS[:2]), q.answer_html) for q in rqas]
    if broken:
        k = rng.randrange(len(rqas))
        rqas[k] = RenderQA(rqas[k].question, BROKEN_SENTINEL, rqas[k].question_html, BROKEN_SENTINEL)

    declared = declared_language(site, language)
    title = f"{FAQ_TITLE[language]} – {site.brand}"
    home = f"https://{site.host}/"
    blocks: list[tuple[str, list[RenderQA], list[QAItem | None]]] = []
    scripts: list[str] = []
    quirk = None
    body_faq = ""
    if "jsonld" in markup:
        style = JsonStyle(site.ensure_ascii, site.escape_slash, rng.choice((None, None, 2, 4)),
                          "https://schema.org" if site.render_seed % 4 else "http://schema.org")
        in_language = declared if rng.random() < 0.4 else None
        scripts = jsonld_scripts(rqas, shape, style, rng, url=spec.url, home=home, brand=site.brand,
                                 title=title, in_language=in_language, html_answers=site.answer_html)
        if not broken and not empty and rng.random() < 0.08:
            quirk = rng.choice(JSONLD_QUIRKS)
            quirked = add_quirk(scripts[-1], quirk, rng)
            if quirked is None:
                quirk = None
            else:
                scripts[-1] = quirked
        blocks.append(("jsonld", rqas, items))
    if "microdata" in markup:
        md_rqas, md_items = list(rqas), list(items)
        if spec.extra_microdata_qa is not None and not empty and not broken:
            extra = spec.extra_microdata_qa
            md_rqas.append(render_qa(extra.question, extra.answer, rng, site.answer_html, link_host))
            md_items.append(extra)
        body_faq = microdata(md_rqas, rng)
        blocks.append(("microdata", md_rqas, md_items))
    elif markup == "rdfa":
        body_faq = rdfa(rqas, rng)
        blocks.append(("rdfa", rqas, items))
    else:
        body_faq = accordion(rqas, rng)

    charset = site.charset
    where = _charset_declaration(site, rng)
    html = _page_html(spec, corpus, rng, declared=declared, title=title, home=home, scripts=scripts,
                      body_faq=body_faq, meta_charset=charset.label if where in ("meta", "both") else None)
    body = html.encode(charset.encode_as, errors="xmlcharrefreplace")
    if where == "bom":
        body = b"\xef\xbb\xbf" + body
    content_type = f"text/html; charset={charset.label}" if where in ("http", "both") else "text/html"
    if rng.random() < 0.15 and where in ("http", "both"):
        content_type = f"text/html;charset={charset.label.lower()}"
    content_language = language if rng.random() < 0.1 else None
    headers = server_headers(rng, site.server, when, content_type, content_language,
                             home if site.template == "wordpress" else None)
    truth = [] if (empty or broken or status != 200) else _truth_order(blocks)
    return RenderedPage(
        html=html, response=HttpResponse(status, headers, body), qas=truth, declared_lang=declared,
        charset=charset.label, charset_declared=where, markup=markup,
        jsonld_shape=shape if "jsonld" in markup else None, jsonld_quirk=quirk,
    )


def _page_html(spec: FaqPageSpec, corpus: XQuadCorpus, rng: random.Random, *, declared: str | None, title: str,
               home: str, scripts: list[str], body_faq: str, meta_charset: str | None) -> str:
    site = spec.site
    language = spec.language
    template = site.template
    paragraphs = corpus.paragraphs[language][spec.article]
    intro = paragraphs[rng.randrange(len(paragraphs))]
    outro = paragraphs[rng.randrange(len(paragraphs))] if rng.random() < 0.6 else ""
    description = intro[:150].rsplit(" ", 1)[0] if " " in intro[:150] else intro[:80]
    home_label, about_label, contact_label = NAV[language]
    out: list[str] = ["<!DOCTYPE html>"]
    attrs = f' lang="{declared}"' if declared else ""
    if language in RTL:
        attrs += ' dir="rtl"'
    out.append(f"<html{attrs}>\n<head>")
    if meta_charset:
        if rng.random() < 0.75:
            out.append(f'<meta charset="{meta_charset}">')
        else:
            out.append(f'<meta http-equiv="Content-Type" content="text/html; charset={meta_charset}">')
    out.append('<meta name="viewport" content="width=device-width, initial-scale=1">')
    out.append(f"<title>{escape(title)}</title>")
    out.append(f'<meta name="description" content="{escape_attr(description)}">')
    out.append(f'<link rel="canonical" href="{escape_attr(spec.url)}">')
    for alt_lang, alt_url in spec.alternates:
        out.append(f'<link rel="alternate" hreflang="{alt_lang}" href="{escape_attr(alt_url)}">')
    if spec.alternates:
        out.append(f'<link rel="alternate" hreflang="x-default" href="{escape_attr(spec.alternates[0][1])}">')
    out.append(f'<meta property="og:title" content="{escape_attr(title)}">')
    out.append(f'<meta property="og:url" content="{escape_attr(spec.url)}">')
    out.append('<meta property="og:type" content="website">')
    for asset in _ASSETS[template]:
        href = asset if asset.startswith(("http", "//")) else f"{home.rstrip('/')}{asset}"
        out.append(f"<link rel='stylesheet' href='{href}' media='all'>")
    out.append(f"<style id=\"theme-inline-css\">\n{site_css(site)}\n</style>")
    out.append(f"<script async src=\"https://www.googletagmanager.com/gtag/js?id=G-{site.render_seed % 10**8:08d}\">"
               "</script>\n<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);}"
               f"gtag('js',new Date());gtag('config','G-{site.render_seed % 10**8:08d}');</script>")
    head_scripts = template in ("wordpress", "shop")
    if head_scripts:
        out.extend(_script_tags(scripts, rng))
    out.append("</head>")
    body_class = {"wordpress": "page-template-default page page-id-{n} wp-custom-logo ast-page-builder-template",
                  "shop": "template-page gradient", "static": "d-flex flex-column h-100",
                  "helpdesk": "community-enabled"}[template].format(n=site.render_seed % 9000 + 100)
    out.append(f'<body class="{body_class}">')
    out.append(f'<header class="site-header"><a class="site-logo" href="{home}">{escape(site.brand)}</a>\n'
               f'<nav class="main-navigation"><ul>'
               f'<li><a href="{home}">{escape(home_label)}</a></li>'
               f'<li><a href="{home}about/">{escape(about_label)}</a></li>'
               f'<li class="current-menu-item"><a href="{escape_attr(spec.url)}">FAQ</a></li>'
               f'<li><a href="{home}contact/">{escape(contact_label)}</a></li></ul></nav>')
    if spec.alternates:
        links = "".join(f'<li><a href="{escape_attr(u)}" hreflang="{lang}">{escape(LANGUAGE_NAME[lang])}</a></li>'
                        for lang, u in spec.alternates)
        out.append(f'<ul class="language-switcher">{links}</ul>')
    out.append("</header>")
    out.append('<main id="content" class="site-main">\n<article class="page type-page status-publish">')
    out.append(f'<h1 class="entry-title">{escape(FAQ_TITLE[spec.language])}</h1>')
    out.append(f'<div class="entry-content">\n<p>{escape(intro)}</p>')
    out.append(body_faq)
    if outro:
        out.append(f"<p>{escape(outro)}</p>")
    out.append("</div>\n</article>\n</main>")
    year = 2019 + site.render_seed % 6
    out.append(f'<footer class="site-footer"><div class="footer-widgets"><ul>'
               f'<li><a href="{home}privacy-policy/">Privacy</a></li><li><a href="{home}imprint/">Imprint</a></li>'
               f'<li><a href="{home}sitemap.xml">Sitemap</a></li></ul></div>'
               f'<p class="copyright">© {year}–2024 {escape(site.brand)}</p></footer>')
    if not head_scripts:
        out.extend(_script_tags(scripts, rng))
    out.append(f'<script src="{home}assets/js/main.js?v={site.render_seed % 1000}" defer></script>')
    out.append("</body>\n</html>\n")
    return "\n".join(out)


def _script_tags(scripts: list[str], rng: random.Random) -> list[str]:
    tags = []
    for script in scripts:
        attr = rng.choice(('type="application/ld+json"', "type='application/ld+json'",
                           'type="application/ld+json" class="yoast-schema-graph"'))
        tags.append(f"<script {attr}>{script}</script>")
    return tags
