"""schema.org FAQPage markup in the three syntaxes, in the shapes real sites write.

JSON-LD shapes: a single FAQPage object (Google's example), a Yoast `@graph`
(WebPage typed `["WebPage", "FAQPage"]` whose `mainEntity` lists `@id`
references to Question nodes elsewhere in the graph), a Rank Math `@graph`, a
top-level list, several `<script>` blocks (Organization, BreadcrumbList, FAQPage),
a FAQPage nested in a WebPage, and one FAQ split over two FAQPage scripts. JSON
is written the ways CMSs write it (indented or not, `\\uXXXX` escapes, `\\/`),
and a few pages carry JSON that strict parsers reject but lenient ones read
(trailing comma, comments, HTML comment or CDATA wrapper, raw line break in a
string). Microdata and RDFa (vocab or prefix form) mark up the visible FAQ.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass

from faqmine.simulate.fragments import answer_html, escape, escape_attr

JSONLD_QUIRKS = ("trailing_comma", "comment", "html_comment", "cdata", "raw_newline")
_TRAILING_COMMA_RISK = re.compile(r",\s*[}\]]")


@dataclass(frozen=True)
class RenderQA:
    """One QA as a page renders it: plain texts (the truth) and the HTML written for each."""

    question: str
    answer: str
    question_html: str
    answer_html: str


@dataclass(frozen=True)
class JsonStyle:
    ensure_ascii: bool
    escape_slash: bool
    indent: int | None
    context: str  # "https://schema.org" or "http://schema.org"


def dumps(value: object, style: JsonStyle) -> str:
    text = json.dumps(value, ensure_ascii=style.ensure_ascii, indent=style.indent,
                      separators=None if style.indent else (",", ":"))
    if style.escape_slash:
        text = text.replace("/", "\\/")
    return text


def _question_node(qa: RenderQA, rng: random.Random, html_answers: float, node_id: str | None = None) -> dict:
    answer_text = qa.answer_html if rng.random() < html_answers else escape(qa.answer)
    answer: dict = {"@type": "Answer", "text": answer_text}
    node: dict = {"@type": "Question"}
    if node_id:
        node["@id"] = node_id
    node["name"] = escape(qa.question)
    if rng.random() < 0.1:
        node["answerCount"] = 1
    prop = "suggestedAnswer" if rng.random() < 0.03 else "acceptedAnswer"
    node[prop] = [answer] if rng.random() < 0.08 else answer
    return node


def _organization(brand: str, home: str, ctx: str | None) -> dict:
    org = {"@type": "Organization", "@id": f"{home}#organization", "name": brand, "url": home,
           "logo": f"{home}wp-content/uploads/logo.png"}
    return {"@context": ctx, **org} if ctx else org


def jsonld_scripts(qas: list[RenderQA], shape: str, style: JsonStyle, rng: random.Random, *, url: str,
                   home: str, brand: str, title: str, in_language: str | None, html_answers: float) -> list[str]:
    """The JSON-LD script bodies of one page (each the text between <script> and </script>)."""
    ctx = style.context
    lang = {"inLanguage": in_language} if in_language else {}

    def faq(questions: list[RenderQA], with_context: bool = True) -> dict:
        entities = [_question_node(q, rng, html_answers) for q in questions]
        main = entities[0] if len(entities) == 1 and rng.random() < 0.5 else entities
        node = {"@type": "FAQPage", "mainEntity": main, **lang}
        return {"@context": ctx, **node} if with_context else node

    if shape == "graph_yoast":
        question_ids = [f"{url}#faq-question-{1700000000000 + rng.randrange(10**9)}" for _ in qas]
        page = {"@type": ["WebPage", "FAQPage"], "@id": url, "url": url, "name": title,
                "isPartOf": {"@id": f"{home}#website"}, "datePublished": "2023-03-14T09:12:44+00:00",
                "breadcrumb": {"@id": f"{url}#breadcrumb"},
                "mainEntity": [{"@id": qid} for qid in question_ids], **lang}
        graph: list[dict] = [
            page,
            {"@type": "BreadcrumbList", "@id": f"{url}#breadcrumb", "itemListElement": [
                {"@type": "ListItem", "position": 1, "name": brand, "item": home},
                {"@type": "ListItem", "position": 2, "name": title}]},
            {"@type": "WebSite", "@id": f"{home}#website", "url": home, "name": brand,
             "publisher": {"@id": f"{home}#organization"}, **lang},
            _organization(brand, home, None),
        ]
        for qa, qid in zip(qas, question_ids, strict=True):
            node = _question_node(qa, rng, html_answers, qid)
            node["position"] = len(graph) - 3
            node["url"] = qid
            graph.append(node)
        return [dumps({"@context": ctx, "@graph": graph}, style)]
    if shape == "graph_rankmath":
        graph = [_organization(brand, home, None),
                 {"@type": "WebSite", "@id": f"{home}#website", "url": home, "name": brand, **lang},
                 {"@type": "WebPage", "@id": f"{url}#webpage", "url": url, "name": title, **lang},
                 faq(qas, with_context=False)]
        return [dumps({"@context": ctx, "@graph": graph}, style)]
    if shape == "list":
        return [dumps([_organization(brand, home, ctx), faq(qas)], style)]
    if shape == "multi_script":
        crumbs = {"@context": ctx, "@type": "BreadcrumbList", "itemListElement": [
            {"@type": "ListItem", "position": 1, "name": brand, "item": home},
            {"@type": "ListItem", "position": 2, "name": title, "item": url}]}
        return [dumps(_organization(brand, home, ctx), style), dumps(crumbs, style), dumps(faq(qas), style)]
    if shape == "nested":
        return [dumps({"@context": ctx, "@type": "WebPage", "name": title, "url": url,
                       "mainEntity": faq(qas, with_context=False)}, style)]
    if shape == "split" and len(qas) >= 2:
        cut = rng.randint(1, len(qas) - 1)
        return [dumps(faq(qas[:cut]), style), dumps(faq(qas[cut:]), style)]
    return [dumps(faq(qas), style)]


def add_quirk(script: str, quirk: str, rng: random.Random) -> str | None:
    """JSON that strict parsers reject and lenient readers repair; None when the quirk would be unsafe here."""
    if quirk == "trailing_comma":
        if _TRAILING_COMMA_RISK.search(script):
            return None  # the repair would also touch string content
        end = script.rstrip()
        return end[:-1].rstrip() + ",\n" + end[-1]
    if quirk == "comment":
        return rng.choice(("// FAQ schema generated by the theme\n", "/* FAQPage markup */\n")) + script
    if quirk == "html_comment":
        return f"<!--\n{script}\n-->"
    if quirk == "cdata":
        return f"//<![CDATA[\n{script}\n//]]>"
    if quirk == "raw_newline":
        at = script.find('"text":')
        space = script.find(" ", at + 9) if at >= 0 else -1
        if space < 0 or "\\" in script[at:space]:
            return None
        return script[:space] + "\n" + script[space + 1:]
    raise ValueError(quirk)


def _question_name_html(qa: RenderQA, attr: str, tag: str, rng: random.Random) -> str:
    if rng.random() < 0.1:  # visible question in a button, name in a meta tag
        return (f'<meta {attr}="name" content="{escape_attr(qa.question)}">'
                f'<button class="faq-toggle" type="button">{qa.question_html}</button>')
    return f'<{tag} class="faq-question" {attr}="name">{qa.question_html}</{tag}>'


def microdata(qas: list[RenderQA], rng: random.Random) -> str:
    base = rng.choice(("https://schema.org", "http://schema.org"))
    tag = rng.choice(("h3", "h3", "h2", "h4", "div", "span"))
    details = rng.random() < 0.3
    items = []
    for qa in qas:
        name = _question_name_html(qa, "itemprop", tag, rng)
        answer = (f'<div class="faq-answer" itemscope itemprop="acceptedAnswer" itemtype="{base}/Answer">\n'
                  f'  <div itemprop="text">{qa.answer_html}</div>\n</div>')
        if details:
            items.append(f'<details class="faq-item" itemscope itemprop="mainEntity" itemtype="{base}/Question">\n'
                         f'<summary>{name}</summary>\n{answer}\n</details>')
        else:
            items.append(f'<div class="faq-item" itemscope itemprop="mainEntity" itemtype="{base}/Question">\n'
                         f'{name}\n{answer}\n</div>')
    body = "\n".join(items)
    return f'<section class="faq" itemscope itemtype="{base}/FAQPage">\n{body}\n</section>'


def rdfa(qas: list[RenderQA], rng: random.Random) -> str:
    prefixed = rng.random() < 0.35
    p = "schema:" if prefixed else ""
    tag = rng.choice(("h3", "h2", "dt"))
    items = []
    for qa in qas:
        name = _question_name_html(qa, "property", tag, rng).replace('property="name"', f'property="{p}name"')
        items.append(
            f'<div class="faq-item" property="{p}mainEntity" typeof="{p}Question">\n{name}\n'
            f'<div property="{p}acceptedAnswer" typeof="{p}Answer">\n'
            f'  <div property="{p}text">{qa.answer_html}</div>\n</div>\n</div>')
    body = "\n".join(items)
    scope = 'prefix="schema: https://schema.org/"' if prefixed else 'vocab="https://schema.org/"'
    return f'<div class="faq" {scope} typeof="{p}FAQPage">\n{body}\n</div>'


def accordion(qas: list[RenderQA], rng: random.Random) -> str:
    """The visible FAQ of a page whose markup is JSON-LD only: no structured-data attributes."""
    items = []
    for i, qa in enumerate(qas):
        items.append(f'<div class="accordion-item"><button class="accordion-button" aria-controls="faq-{i}">'
                     f'{qa.question_html}</button>\n<div id="faq-{i}" class="accordion-collapse">'
                     f'{qa.answer_html}</div></div>')
    return '<div class="accordion" id="faq">\n' + "\n".join(items) + "\n</div>"


def render_qa(question: str, answer: str, rng: random.Random, html_share: float, link_host: str) -> RenderQA:
    question_html = escape(question) if rng.random() < 0.9 else answer_html(question, rng, "entities")
    if rng.random() < html_share:
        ahtml = answer_html(answer, rng, link_host=link_host)
    else:
        ahtml = escape(answer)
    return RenderQA(question, answer, question_html, ahtml)
