"""Planning the FAQ side of the simulated web: sites, their FAQ pages, and which QAs each page holds.

Three kinds of site:

- monolingual: one language, one to three FAQ pages;
- multilingual: the same FAQ (the same XQuAD question ids) in two to five
  languages at language-coded URLs (`/de/faq/`, `de.example.org/faq`,
  `/faq?lang=de`): the gold translation pairs;
- copier: takes an FAQ page another site published, keeps most of its QAs and
  edits many of them a little (`faqmine.simulate.edits`): the gold near-duplicates.

and a fourth, rarer one:

- syndicator: republishes one of a few syndicated FAQs verbatim (a help-centre FAQ
  that many shops embed) next to an FAQ of its own: the syndicated QAs are exact
  duplicates across many sites, which joins those sites into one large component.

The QAs of one FAQ page are a "unit": 3 to 12 questions of one XQuAD article,
dealt from a shuffled deck. `SimConfig.question_sites` says how many unrelated
sites may publish one question, in any language: with 1 (the default) every
question, and every question XQuAD answers with the same sentence, belongs to one
site (in all of that site's languages) and the deck runs dry after XQuAD's 1,190
questions, after which no more FAQ sites are planned; with 0
(no limit) the deck is dealt again in each language, so at large sizes a question
reappears, often translated, on unrelated sites. How a site renders its pages
(template, markup, JSON-LD shape, charset, language declaration) is drawn once per
site here and applied by `faqmine.simulate.pages`.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from faqmine.simulate.config import SimConfig
from faqmine.simulate.edits import edit_copy
from faqmine.simulate.locale import CC_TLDS, FAQ_SLUG, GENERIC_TLDS, LEGACY_CHARSETS, UTF8, Charset
from faqmine.simulate.names import DomainNamer, brand_of, ip_address, slug_path
from faqmine.simulate.xquad import XQuadCorpus

TEMPLATES = ("wordpress", "shop", "static", "helpdesk")
MARKUPS = ("jsonld", "microdata", "rdfa", "jsonld+microdata")
_MARKUP_WEIGHTS = (0.66, 0.14, 0.07, 0.13)
JSONLD_SHAPES = ("object", "graph_yoast", "graph_rankmath", "list", "multi_script", "nested", "split")
_SHAPE_WEIGHTS = (0.34, 0.2, 0.1, 0.1, 0.12, 0.06, 0.08)
URL_SCHEMES = ("path", "subdomain", "query")
_FIRST_PATHS = ("/faq", "/faq/", "/faqs/", "/help/faq", "/support/faq/", "/pages/faq", "/faq.html", "/info/faq.php")
_MORE_PATHS = ("/shipping-faq/", "/returns/faq", "/help/payment-faq", "/services/faq/", "/account/help/faq",
               "/delivery/faq.html", "/membership/faq/")


@dataclass
class Site:
    domain: str  # the registered domain: the `site` column of the truth
    kind: str  # mono | multi | copy
    languages: tuple[str, ...]
    primary: str
    brand: str
    template: str
    markup: str
    jsonld_shape: str
    url_scheme: str  # none | path | subdomain | query
    query_key: str
    www: bool
    charset: Charset
    lang_bug: str | None  # None | primary (every version declares the primary language) | theme_default | missing
    answer_html: float  # share of answers written with HTML tags
    ensure_ascii: bool  # JSON-LD written with \\uXXXX escapes (PHP json_encode, Python json.dumps)
    escape_slash: bool  # JSON-LD with \\/ (PHP json_encode)
    ip: str
    server: str
    render_seed: int
    css: str | None = None  # the theme's stylesheet, built once when the first page is rendered

    @property
    def host(self) -> str:
        return f"www.{self.domain}" if self.www else self.domain


@dataclass
class QAItem:
    question: str
    answer: str
    language: str
    qid: str
    edits: tuple[str, ...] = ()
    copied_from: str | None = None  # site the QA was copied from


@dataclass
class FaqPageSpec:
    uid: int
    site: Site
    language: str
    url: str
    article: int
    qas: list[QAItem]
    alternates: list[tuple[str, str]] = field(default_factory=list)  # (language, url) of the translations
    extra_microdata_qa: QAItem | None = None  # Microdata holds one QA the JSON-LD lacks (they disagree)
    empty_placeholder: bool = False  # one QA left with an empty answer (the extractor skips it)


class UnitDeck:
    """Deals units: 3 to 12 questions of one XQuAD article, for a site publishing in some languages.

    XQuAD has 1190 questions per language. With `question_sites` = 0 a large crawl
    publishes some of them more than once; to keep that as rare as the crawl size
    allows, each unit is made of the questions published least often so far in the
    site's languages, from the article that has most of those (ties broken at random).
    With `question_sites` = N > 0 a question goes to at most N sites, whatever their
    languages: each unit is made of questions with fewest sites so far, from the
    article with most questions still free, and `next` returns None once no article
    has `MIN_UNIT` free questions left (the deck is dry). Questions that XQuAD answers
    with the same text (`answer_of`: several questions about one sentence) count as
    one: publishing one of them uses them all up, since two sites holding one answer
    (or its translation) under different questions would be near copies, which the
    web has far fewer of than XQuAD.
    """

    MIN_UNIT = 3

    def __init__(self, corpus: XQuadCorpus, rng: random.Random, question_sites: int = 0,
                 answer_of: Callable[[str], str] | None = None):
        self.corpus = corpus
        self.rng = rng
        self.question_sites = question_sites
        self.uses: dict[str, dict[str, int]] = {}
        self.sites_of: dict[str, int] = {}
        self.same_answer: dict[str, list[str]] = {}  # qid -> every qid of its article with the same answer text
        if question_sites and answer_of is not None:
            for qids in corpus.article_qids:
                groups: dict[str, list[str]] = {}
                for qid in qids:
                    groups.setdefault(answer_of(qid), []).append(qid)
                for members in groups.values():
                    for qid in members:
                        self.same_answer[qid] = members

    def _cost(self, qid: str, languages: tuple[str, ...] | list[str]) -> int:
        return sum(self.uses.get(lang, {}).get(qid, 0) for lang in languages)

    def next(self, languages: tuple[str, ...] | list[str]) -> tuple[int, list[str]] | None:
        if self.question_sites:
            return self._next_capped()
        size = self.rng.randint(3, 12)
        articles = list(range(len(self.corpus.article_qids)))
        self.rng.shuffle(articles)
        best: tuple[int, list[str]] | None = None
        best_cost = -1.0
        for article in articles:
            qids = list(self.corpus.article_qids[article])
            self.rng.shuffle(qids)
            qids.sort(key=lambda q: self._cost(q, languages))
            chosen = qids[:size]
            cost = sum(self._cost(q, languages) for q in chosen) / len(chosen)
            if best is None or cost < best_cost:
                best, best_cost = (article, chosen), cost
                if cost == 0:
                    break
        assert best is not None
        for lang in languages:
            counts = self.uses.setdefault(lang, {})
            for q in best[1]:
                counts[q] = counts.get(q, 0) + 1
        return best

    def _next_capped(self) -> tuple[int, list[str]] | None:
        size = self.rng.randint(3, 12)
        articles = list(range(len(self.corpus.article_qids)))
        self.rng.shuffle(articles)
        best: tuple[int, list[str]] | None = None
        for article in articles:
            free = [q for q in self.corpus.article_qids[article] if self.sites_of.get(q, 0) < self.question_sites]
            self.rng.shuffle(free)
            free.sort(key=lambda q: self.sites_of.get(q, 0))
            if best is None or len(free[:size]) > len(best[1]):
                best = (article, free[:size])
                if len(best[1]) == size:
                    break
        if best is None or len(best[1]) < self.MIN_UNIT:
            return None
        used = {member for q in best[1] for member in self.same_answer.get(q, [q])}
        for q in used:
            self.sites_of[q] = self.sites_of.get(q, 0) + 1
        return best


class SitePlanner:
    """Plans one site at a time and returns its FAQ pages, ready to render."""

    def __init__(self, config: SimConfig, corpus: XQuadCorpus, namer: DomainNamer, rng: random.Random):
        self.config = config
        self.corpus = corpus
        self.namer = namer
        self.rng = rng
        pivot = "en" if "en" in config.languages else sorted(config.languages)[0]
        self.deck = UnitDeck(corpus, random.Random(rng.random()), config.question_sites,
                             lambda qid: corpus.answer(pivot, qid, config.answer_mode))
        self.weights = config.language_weights()
        self.copy_sources: deque[FaqPageSpec] = deque(maxlen=400)
        self.syndicated: list[FaqPageSpec] = []  # the few FAQs syndicator sites republish
        self.dry = False  # the deck has no unit left: no more FAQ sites
        self.n_sites = 0
        self.n_pages = 0
        self.n_scratch = 0

    # -- choices ---------------------------------------------------------------------------------------------
    def _language(self, exclude: tuple[str, ...] = ()) -> str:
        langs = [lang for lang in self.weights if lang not in exclude]
        return self.rng.choices(langs, weights=[self.weights[lang] for lang in langs])[0]

    def _kind(self) -> str:
        # The first sites show every kind, so that even a tiny crawl has each feature.
        warmup = ("multi", "mono", "copy")
        kind = warmup[self.n_sites] if self.n_sites < len(warmup) else None
        if kind is None:
            r = self.rng.random()
            multi, copy = self.config.multilingual_share, self.config.copy_share
            kind = "multi" if r < multi else "copy" if r < multi + copy else (
                "syndicator" if r < multi + copy + self.config.syndicated_share else "mono")
        if kind == "multi" and len(self.config.languages) < 2:
            kind = "mono"
        if kind in ("copy", "syndicator") and not self.copy_sources:
            kind = "mono"
        return kind

    def _markup(self) -> str:
        if self.n_sites < len(MARKUPS):  # every markup early on
            return MARKUPS[(self.n_sites + 1) % len(MARKUPS)]
        return self.rng.choices(MARKUPS, weights=_MARKUP_WEIGHTS)[0]

    def _site(self, kind: str, languages: tuple[str, ...]) -> Site:
        rng = self.rng
        primary = languages[0]
        if kind == "multi" or rng.random() < 0.45:
            tlds = GENERIC_TLDS
        else:
            tlds = CC_TLDS[primary]
        domain = self.namer.new(tlds)
        charset = UTF8
        legacy = LEGACY_CHARSETS.get(primary, ())
        if kind != "multi" and legacy and rng.random() < 0.12:
            charset = rng.choice(legacy)
        r = rng.random()
        lang_bug = None
        if kind == "multi" and r < 0.12:
            lang_bug = "primary"
        elif primary != "en" and r < 0.08:
            lang_bug = "theme_default"
        elif r > 0.95:
            lang_bug = "missing"
        template = rng.choice(TEMPLATES)
        return Site(
            domain=domain, kind=kind, languages=languages, primary=primary, brand=brand_of(domain),
            template=template, markup=self._markup(),
            jsonld_shape=rng.choices(JSONLD_SHAPES, weights=_SHAPE_WEIGHTS)[0],
            url_scheme=rng.choice(URL_SCHEMES) if kind == "multi" else "none",
            query_key=rng.choice(("lang", "lang", "hl", "locale")), www=rng.random() < 0.6, charset=charset,
            lang_bug=lang_bug, answer_html=rng.choice((0.0, 0.2, 0.6, 1.0)),
            ensure_ascii=rng.random() < 0.3, escape_slash=rng.random() < 0.15, ip=ip_address(rng),
            server=rng.choice(("nginx", "Apache", "cloudflare", "LiteSpeed", "Microsoft-IIS/10.0", "nginx/1.24.0")),
            render_seed=rng.getrandbits(48),
        )

    def _path(self, site: Site, language: str, index: int) -> str:
        if index == 0:
            if site.kind != "multi" and language != "en" and self.rng.random() < 0.2:
                return f"/{slug_path(FAQ_SLUG[language])}/"
            return self.rng.choice(_FIRST_PATHS)
        return self.rng.choice(_MORE_PATHS)

    def _url(self, site: Site, language: str, path: str) -> str:
        scheme = site.url_scheme
        default = language == site.primary and site.render_seed % 2 == 0  # default language without a code
        if scheme == "path" and not default:
            return f"https://{site.host}/{language}{path}"
        if scheme == "subdomain" and not default:
            return f"https://{language}.{site.domain}{path}"
        if scheme == "query" and not default:
            value = language if site.query_key != "locale" else f"{language}_{language.upper()}"
            return f"https://{site.host}{path}?{site.query_key}={value}"
        return f"https://{site.host}{path}"

    def _page(self, site: Site, language: str, url: str, article: int, qas: list[QAItem]) -> FaqPageSpec:
        spec = FaqPageSpec(uid=self.n_pages, site=site, language=language, url=url, article=article, qas=qas)
        self.n_pages += 1
        if site.markup == "jsonld+microdata" and self.rng.random() < 0.25:
            article_qids = self.corpus.article_qids[article]
            used = {qa.qid for qa in qas}
            spare = [q for q in article_qids if q not in used]
            if spare:
                qid = self.rng.choice(spare)
                spec.extra_microdata_qa = self._item(language, qid)
        spec.empty_placeholder = self.rng.random() < 0.03
        return spec

    def _item(self, language: str, qid: str) -> QAItem:
        qa = self.corpus.qa(language, qid)
        return QAItem(qa.question, self.corpus.answer(language, qid, self.config.answer_mode), language, qid)

    def _unit(self, languages: tuple[str, ...] | list[str]) -> tuple[int, list[str]] | None:
        """The next unit for a site in `languages`; None (and `dry` set) when the deck has none left."""
        unit = self.deck.next(languages)
        if unit is None:
            self.dry = True
            return None
        article, qids = unit
        if self.rng.random() < 0.05:  # a long FAQ: questions of a second unit added
            more = self.deck.next(languages)
            if more is not None:
                qids = qids + [q for q in more[1] if q not in qids]
        return article, qids

    def scratch_page(self, rng: random.Random, markup: str, shape: str | None = None) -> FaqPageSpec:
        """A throwaway FAQ page on a new site, for a broken record: not dealt from the deck, never in the truth."""
        language = self._language()
        site = self._site("mono", (language,))
        site.markup = markup
        site.jsonld_shape = shape or site.jsonld_shape
        site.charset = UTF8 if rng.random() < 0.8 else site.charset
        article = rng.randrange(len(self.corpus.article_qids))
        qids = rng.sample(self.corpus.article_qids[article], k=min(len(self.corpus.article_qids[article]),
                                                                   rng.randint(3, 8)))
        self.n_scratch += 1
        return FaqPageSpec(uid=-self.n_scratch, site=site, language=language,
                           url=self._url(site, language, rng.choice(_FIRST_PATHS)), article=article,
                           qas=[self._item(language, q) for q in qids])

    # -- sites -----------------------------------------------------------------------------------------------
    def next_site(self) -> list[FaqPageSpec]:
        """Plan the next site; return its FAQ pages (none once the deck is dry)."""
        if self.dry:
            return []
        kind = self._kind()
        if kind == "copy":
            pages = self._copier()
        elif kind == "syndicator":
            pages = self._syndicator()
        elif kind == "multi":
            pages = self._multilingual()
        else:
            pages = self._monolingual()
        self.n_sites += 1
        return pages

    def _monolingual(self) -> list[FaqPageSpec]:
        language = self._language()
        site = self._site("mono", (language,))
        n_pages = self.rng.choices((1, 2, 3), weights=(0.7, 0.2, 0.1))[0]
        pages = []
        paths_used: list[str] = []
        for index in range(n_pages):
            path = self._path(site, language, index)
            if path in paths_used:
                continue
            paths_used.append(path)
            unit = self._unit((language,))
            if unit is None:
                break
            article, qids = unit
            qas = [self._item(language, q) for q in qids]
            page = self._page(site, language, self._url(site, language, path), article, qas)
            pages.append(page)
            self.copy_sources.append(page)
        return pages

    def _multilingual(self) -> list[FaqPageSpec]:
        n_langs = min(len(self.config.languages), self.rng.choices((2, 3, 4, 5), weights=(0.4, 0.3, 0.2, 0.1))[0])
        first = "en" if "en" in self.config.languages and self.rng.random() < 0.6 else self._language()
        languages = [first]
        while len(languages) < n_langs:
            languages.append(self._language(tuple(languages)))
        site = self._site("multi", tuple(languages))
        pages: list[FaqPageSpec] = []
        n_faqs = 1 if self.rng.random() < 0.8 else 2
        for index in range(n_faqs):
            path = self._path(site, site.primary, index)
            unit = self._unit(languages)
            if unit is None:
                break
            article, qids = unit
            urls = [(lang, self._url(site, lang, path)) for lang in languages]
            group = []
            for lang, url in urls:
                qas = [self._item(lang, q) for q in qids]
                page = self._page(site, lang, url, article, qas)
                page.alternates = urls
                group.append(page)
            pages.extend(group)
            self.copy_sources.append(self.rng.choice(group))
        return pages

    def _syndicator(self) -> list[FaqPageSpec]:
        """A site that embeds a syndicated FAQ verbatim (one of at most three) and has an FAQ of its own."""
        if not self.syndicated or (len(self.syndicated) < 3 and self.rng.random() < 0.2):
            self.syndicated.append(self.copy_sources[self.rng.randrange(len(self.copy_sources))])
        source = self.rng.choice(self.syndicated)
        language = source.language
        site = self._site("copy", (language,))
        qas = [QAItem(qa.question, qa.answer, language, qa.qid, (), source.site.domain) for qa in source.qas]
        pages = [self._page(site, language, self._url(site, language, self._path(site, language, 0)),
                            source.article, qas)]
        unit = self._unit((language,))
        if unit is not None:
            article, qids = unit
            own = [self._item(language, q) for q in qids]
            pages.append(self._page(site, language, self._url(site, language, self._path(site, language, 1)),
                                    article, own))
        return pages

    def _copier(self) -> list[FaqPageSpec]:
        source = self.copy_sources[self.rng.randrange(len(self.copy_sources))]
        language = source.language
        site = self._site("copy", (language,))
        kept = [qa for qa in source.qas if self.rng.random() < 0.85] or source.qas[:2]
        if self.rng.random() < 0.3:
            self.rng.shuffle(kept)
        qas = []
        for qa in kept:
            question, answer, edits = edit_copy(qa.question, qa.answer, language, site.brand, self.rng, self.corpus,
                                                qa.qid, self.config.answer_mode)
            qas.append(QAItem(question, answer, language, qa.qid, edits, source.site.domain))
        path = self._path(site, language, 0)
        return [self._page(site, language, self._url(site, language, path), source.article, qas)]
