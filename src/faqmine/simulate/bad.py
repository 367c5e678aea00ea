"""Broken records, each with the drop reason the extraction stage must give it.

- `not_html`: a PDF (served as application/pdf, or as text/html), an image, a JSON
  API answer that holds FAQPage JSON-LD, a robots.txt;
- `invalid_jsonld`: a page whose only FAQ markup is JSON-LD that no lenient reader
  can read: the record cut off in the middle of the JSON (`WARC-Truncated`), a PHP
  warning printed where a value should be, a template placeholder never filled in;
- `http_not_ok`: 404 and 403 pages, 301/302 redirects, a 500, a 503 that still
  carries the FAQ page;
- `empty_qa`: FAQ markup whose answers (or questions) are all empty.

`bad_gzip` (a cut gzip member) is written by `faqmine.simulate.crawl` as the last
member of a file. None of these records adds a QA to the truth.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from datetime import datetime

from faqmine.simulate.background import sha1_digest
from faqmine.simulate.pages import BROKEN_SENTINEL, render_faq_page
from faqmine.simulate.responses import HttpResponse, server_headers
from faqmine.simulate.sites import SitePlanner
from faqmine.simulate.xquad import XQuadCorpus

REASONS = ("not_html", "invalid_jsonld", "http_not_ok", "empty_qa")
DETAILS = {
    "not_html": ("pdf", "pdf_served_as_html", "image", "json_api", "plain_text"),
    "invalid_jsonld": ("truncated_record", "php_warning", "unfilled_template"),
    "http_not_ok": ("404", "403", "301", "302", "500", "503_with_faq"),
    "empty_qa": ("empty_answers", "empty_questions"),
}
_JSON_TEXT_VALUE = re.compile(r'"text"\s*:\s*"')


@dataclass
class BadRecord:
    url: str
    response: HttpResponse
    reason: str
    detail: str
    ip: str
    payload_type: str | None


def _pdf(text: str) -> bytes:
    stream = f"BT /F1 12 Tf 72 720 Td ({text.encode('ascii', 'replace').decode()}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


class BadRecordFactory:
    def __init__(self, planner: SitePlanner, corpus: XQuadCorpus, rng: random.Random):
        self.planner = planner
        self.corpus = corpus
        self.rng = rng

    def make(self, reason: str, when: datetime) -> BadRecord:
        detail = self.rng.choice(DETAILS[reason])
        return getattr(self, f"_{reason}")(detail, when)

    def _not_html(self, detail: str, when: datetime) -> BadRecord:
        rng = self.rng
        spec = self.planner.scratch_page(rng, "jsonld")
        site = spec.site
        base = f"https://{site.host}"
        if detail in ("pdf", "pdf_served_as_html"):
            body = _pdf(f"{site.brand} FAQ {spec.qas[0].qid}")
            ctype = "application/pdf" if detail == "pdf" else "text/html; charset=UTF-8"
            url = f"{base}/wp-content/uploads/{rng.randint(2018, 2024)}/{rng.randint(1, 12):02d}/faq.pdf"
            if detail == "pdf_served_as_html":
                url = f"{base}/download.php?file=faq-{rng.randint(1, 999)}"
            ptype = "application/pdf"
        elif detail == "image":
            png = rng.random() < 0.5
            magic = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" if png else b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
            body = magic + rng.randbytes(rng.randint(2000, 30000))
            ctype = "image/png" if png else "image/jpeg"
            url = f"{base}/images/faq-banner-{rng.randint(1, 99)}.{'png' if png else 'jpg'}"
            ptype = ctype
        elif detail == "json_api":
            doc = {"@context": "https://schema.org", "@type": "FAQPage", "mainEntity": [
                {"@type": "Question", "name": qa.question, "acceptedAnswer": {"@type": "Answer", "text": qa.answer}}
                for qa in spec.qas]}
            body = json.dumps(doc, ensure_ascii=False).encode("utf-8")
            ctype = "application/json; charset=utf-8"
            url = f"{base}/api/v1/faq?format=json"
            ptype = "application/json"
        else:
            body = b"User-agent: *\nDisallow: /wp-admin/\nAllow: /wp-admin/admin-ajax.php\n\nSitemap: " + \
                f"{base}/sitemap.xml\n".encode()
            ctype = "text/plain"
            url = f"{base}/robots.txt"
            ptype = "text/plain"
        headers = server_headers(rng, site.server, when, ctype)
        return BadRecord(url, HttpResponse(200, headers, body), "not_html", detail, site.ip, ptype)

    def _invalid_jsonld(self, detail: str, when: datetime) -> BadRecord:
        rng = self.rng
        shape = rng.choice(("object", "graph_yoast", "graph_rankmath", "list"))
        spec = self.planner.scratch_page(rng, "jsonld", shape)
        if detail == "truncated_record":
            page = render_faq_page(spec, self.corpus, when, markup="jsonld", shape=shape)
            html = page.html
            cut = self._cut_inside_json(html)
            body = html[:cut].encode(spec.site.charset.encode_as, errors="xmlcharrefreplace")
            response = page.response
            response.declared_length = len(response.body)
            response.body = body
            response.warc_extra = [("WARC-Truncated", rng.choice(("disconnect", "length", "time")))]
        else:
            page = render_faq_page(spec, self.corpus, when, markup="jsonld", shape=shape, broken=True)
            if detail == "php_warning":
                raw = ("<br />\n<b>Warning</b>:  Undefined variable $answer in <b>/var/www/html/wp-content/themes/"
                       f"{spec.site.brand.split()[0].lower()}/template-parts/faq.php</b> on line <b>"
                       f"{rng.randint(20, 240)}</b><br />\nnull")
            else:
                raw = rng.choice(("{{ faq.answer | raw }}", "{{answer}}", "<%= item.answer %>", "${faq.answer}"))
            html = page.html.replace(f'"{BROKEN_SENTINEL}"', raw).replace(BROKEN_SENTINEL, "")
            response = page.response
            response.body = html.encode(spec.site.charset.encode_as, errors="xmlcharrefreplace")
        return BadRecord(spec.url, response, "invalid_jsonld", detail, spec.site.ip, "text/html")

    def _cut_inside_json(self, html: str) -> int:
        """An offset inside a JSON string value of the FAQPage script: cut there, the JSON cannot be read."""
        start = html.find("FAQPage")
        matches = list(_JSON_TEXT_VALUE.finditer(html, start))
        for match in matches[len(matches) // 2 :] + matches:
            end = match.end()
            while end < len(html) and html[end] != '"':
                end += 2 if html[end] == "\\" else 1
            if end - match.end() >= 3:
                return self.rng.randint(match.end() + 1, end - 1)
        raise ValueError("no JSON string to cut inside")

    def _http_not_ok(self, detail: str, when: datetime) -> BadRecord:
        rng = self.rng
        spec = self.planner.scratch_page(rng, rng.choice(("jsonld", "microdata")))
        site = spec.site
        status = int(detail[:3])
        if detail == "503_with_faq":
            page = render_faq_page(spec, self.corpus, when, status=503)
            response = page.response
            response.headers.append(("Retry-After", str(rng.choice((60, 120, 3600)))))
            return BadRecord(spec.url, response, "http_not_ok", detail, site.ip, "text/html")
        if status in (301, 302):
            target = spec.url.rstrip("/") + "/" if not spec.url.endswith("/") else spec.url.rstrip("/")
            body = (f"<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>{status} "
                    f"{'Moved Permanently' if status == 301 else 'Found'}</title>\n</head><body>\n<h1>"
                    f"{'Moved Permanently' if status == 301 else 'Found'}</h1>\n<p>The document has moved "
                    f"<a href=\"{target}\">here</a>.</p>\n</body></html>\n").encode()
            headers = server_headers(rng, site.server, when, "text/html; charset=iso-8859-1")
            headers.insert(2, ("Location", target))
        else:
            title = {404: "Page not found", 403: "Forbidden", 500: "Internal Server Error"}[status]
            body = (f"<!DOCTYPE html>\n<html lang=\"{spec.language}\">\n<head><meta charset=\"utf-8\">"
                    f"<title>{title} – {site.brand}</title></head>\n<body class=\"error{status}\">"
                    f"<header><a href=\"https://{site.host}/\">{site.brand}</a></header>\n<main><h1>{status}</h1>"
                    f"<p>{title}.</p></main>\n</body>\n</html>\n").encode()
            headers = server_headers(rng, site.server, when, "text/html; charset=UTF-8")
        return BadRecord(spec.url, HttpResponse(status, headers, body), "http_not_ok", detail, site.ip, "text/html")

    def _empty_qa(self, detail: str, when: datetime) -> BadRecord:
        rng = self.rng
        spec = self.planner.scratch_page(rng, rng.choice(("jsonld", "jsonld", "microdata", "rdfa")))
        which = "answers" if detail == "empty_answers" else "questions"
        page = render_faq_page(spec, self.corpus, when, empty=which)
        return BadRecord(spec.url, page.response, "empty_qa", detail, spec.site.ip, "text/html")


def payload_digest(response: HttpResponse) -> str:
    return sha1_digest(response.body)
