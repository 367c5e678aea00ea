"""The simulator's main loop: fill WARC files record by record until the crawl has the requested size.

Each record slot is, at random (seeded), a broken record (`bad_share`), an FAQ page
(`faq_share`) or a background page (the rest). FAQ pages are drawn at random from
a pool of planned pages that is refilled site by site, so the language versions
of a site and copies of a page are spread through the crawl as in a real one; a
share of emitted pages (`dup_share`) is put back into the pool to be fetched again
under a URL variant (the gold exact-duplicate pages). Every file gets at least one
broken record of each reason, and every `bad_gzip_every`-th file ends with a cut
gzip member. Nothing is held in memory but the pool and the truth rows, and the
output depends on the seed only.
"""

from __future__ import annotations

import gzip
import json
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from faqmine.simulate.background import BackgroundServer, load_background, sha1_digest
from faqmine.simulate.bad import REASONS, BadRecordFactory
from faqmine.simulate.config import SimConfig, format_size
from faqmine.simulate.locale import BACKGROUND_TLDS
from faqmine.simulate.names import DomainNamer, ip_address
from faqmine.simulate.pages import RenderedPage, render_faq_page
from faqmine.simulate.responses import http_date
from faqmine.simulate.sites import FaqPageSpec, SitePlanner
from faqmine.simulate.truth import TruthCollector
from faqmine.simulate.warc import DeflatedTail, WarcFileWriter, record_id, response_headers, warc_date, warcinfo_block
from faqmine.simulate.xquad import load_xquad

SOFTWARE = "faqmine-simulate/0.1"
_POOL_MIN = 16


@dataclass
class _Duplicate:
    spec: FaqPageSpec
    page: RenderedPage
    url: str
    original_url: str


def url_variant(url: str, rng: random.Random) -> str:
    """The same page under another URL: tracking parameters, a trailing slash, www or not."""
    parts = urlsplit(url)
    form = rng.randrange(4)
    if form == 1 and not parts.query and not parts.path.endswith((".html", ".php")):
        path = parts.path[:-1] if parts.path.endswith("/") else parts.path + "/"
        return urlunsplit(parts._replace(path=path))
    if form == 2 and parts.hostname and parts.hostname.count(".") >= 1:
        host = parts.netloc
        if host.startswith("www."):
            return urlunsplit(parts._replace(netloc=host[4:]))
        if len(host.split(".")[0]) > 2:  # not a language subdomain
            return urlunsplit(parts._replace(netloc="www." + host))
    extra = rng.choice(("utm_source=newsletter&utm_medium=email", "ref=footer", "amp=1", "fbclid=IwAR0x"))
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit(parts._replace(query=query))


def _clear_outputs(out: Path) -> None:
    """Remove what an earlier run wrote into the same folder (only the simulator's own file names)."""
    for pattern in ("warc/*.warc.gz", "truth/*.parquet", "warc.paths.gz", "simulation.json"):
        for path in sorted(out.glob(pattern)):
            path.unlink()


class _Crawl:
    def __init__(self, config: SimConfig, log: Callable[[str], None]):
        self.config = config
        self.log = log
        self.corpus = load_xquad(config.data_dir / "xquad", config.languages)
        background_pages = load_background(config.data_dir / "background")

        def stream(name: str) -> random.Random:
            return random.Random(f"faqmine-simulate/{config.seed}/{name}")

        self.namer = DomainNamer(stream("domains"))
        self.planner = SitePlanner(config, self.corpus, self.namer, stream("sites"))
        self.background = BackgroundServer(background_pages, self.namer, stream("background"), BACKGROUND_TLDS)
        self.bad = BadRecordFactory(self.planner, self.corpus, stream("bad"))
        self.rng = stream("crawl")
        self.ids = stream("record-ids")
        self.clock = datetime(2024, 4, 12, tzinfo=UTC) + timedelta(seconds=stream("clock").randrange(30 * 86400))
        self.truth = TruthCollector()
        self.tails: dict[str, DeflatedTail] = {}
        self.pool: list[FaqPageSpec | _Duplicate] = []
        self.used_urls: set[str] = set()
        self.faq_emitted = 0
        self.counts: Counter = Counter()
        self.languages: Counter = Counter()
        # per file
        self.writer: WarcFileWriter | None = None
        self.warc_name = ""
        self.warcinfo_id = ""

    def _tick(self) -> datetime:
        self.clock += timedelta(seconds=self.rng.choice((0, 0, 1, 1, 1, 2, 3)))
        return self.clock

    # -- records -----------------------------------------------------------------------------------------------
    def _write_response(self, url: str, ip: str, response, payload_type: str | None, when: datetime,
                        digest: str | None = None) -> int:
        assert self.writer is not None
        headers = response_headers(when=when, rid=record_id(self.ids), warcinfo_id=self.warcinfo_id, url=url, ip=ip,
                                   payload_digest=digest or sha1_digest(response.body), payload_type=payload_type,
                                   extra=response.warc_extra)
        return self.writer.write(headers, response.to_bytes())

    def _background(self) -> None:
        assert self.writer is not None
        when = self._tick()
        url, response, page = self.background.next(when)
        tail = self.tails.get(page.payload_digest)
        if tail is None:
            tail = self.tails[page.payload_digest] = DeflatedTail(page.body, self.config.compress_level)
        headers = response_headers(when=when, rid=record_id(self.ids), warcinfo_id=self.warcinfo_id, url=url,
                                   ip=ip_address(self.rng), payload_digest=page.payload_digest,
                                   payload_type="text/html")
        offset = self.writer.write_with_tail(headers, response.head_bytes(), tail)
        self.truth.add_bad(url, self.warc_name, offset, "no_faq_markup", "background", 200, response.content_type())
        self.counts["background"] += 1

    def _bad(self, reason: str) -> None:
        when = self._tick()
        record = self.bad.make(reason, when)
        offset = self._write_response(record.url, record.ip, record.response, record.payload_type, when)
        self.truth.add_bad(record.url, self.warc_name, offset, reason, record.detail, record.response.status,
                           record.response.content_type())
        self.counts[f"bad:{reason}"] += 1

    def _faq(self) -> None:
        while len(self.pool) < _POOL_MIN and not self.planner.dry:
            self.pool.extend(self.planner.next_site())
        if not self.pool:  # every question has its sites (SimConfig.question_sites): a page without FAQ markup
            self.counts["faq_pages_not_made"] += 1
            return self._background()
        index = self.rng.randrange(len(self.pool))
        item = self.pool[index]
        self.pool[index] = self.pool[-1]
        self.pool.pop()
        when = self._tick()
        if isinstance(item, _Duplicate):
            spec, page, url, duplicate_of = item.spec, item.page, item.url, item.original_url
            page.response.headers = [(n, v) for n, v in page.response.headers if n != "Date"]
            page.response.headers.insert(0, ("Date", http_date(when)))
        else:
            spec, url, duplicate_of = item, item.url, None
            if url in self.used_urls:  # a site drew the same path twice: serve it once
                return self._faq()
            page = render_faq_page(spec, self.corpus, when)
        self.used_urls.add(url)
        offset = self._write_response(url, spec.site.ip, page.response, "text/html", when)
        self.truth.add_page(spec, page, url, self.warc_name, offset, when, duplicate_of)
        self.counts["faq_pages"] += 1
        self.counts["qas"] += len(page.qas)
        self.languages[spec.language] += len(page.qas)
        if duplicate_of is None:
            self.faq_emitted += 1
            if self.faq_emitted == 2 or self.rng.random() < self.config.dup_share:
                variant = url_variant(url, self.rng)
                while variant in self.used_urls:
                    variant = url_variant(variant, self.rng)
                self.used_urls.add(variant)
                self.pool.append(_Duplicate(spec, page, variant, url))
        else:
            self.counts["duplicate_pages"] += 1

    def _bad_gzip(self) -> None:
        assert self.writer is not None
        when = self._tick()
        url, response, page = self.background.next(when)
        headers = response_headers(when=when, rid=record_id(self.ids), warcinfo_id=self.warcinfo_id, url=url,
                                   ip=ip_address(self.rng), payload_digest=page.payload_digest,
                                   payload_type="text/html")
        offset = self.writer.write_truncated(headers, response.to_bytes(), self.rng.uniform(0.2, 0.9))
        self.truth.add_bad(url, self.warc_name, offset, "bad_gzip", "truncated_gzip_member", 200,
                           response.content_type())
        self.counts["bad:bad_gzip"] += 1

    # -- files -------------------------------------------------------------------------------------------------
    def write_file(self, index: int, target: int, path: Path) -> tuple[int, int]:
        config = self.config
        self.warc_name = f"warc/{path.name}"
        self.writer = writer = WarcFileWriter(path, config.compress_level)
        self.warcinfo_id = record_id(self.ids)
        info = warcinfo_block([
            ("isPartOf", config.crawl_id),
            ("publisher", "faqmine crawl simulator"),
            ("description", f"Simulated crawl, seed {config.seed}: FAQ pages built from XQuAD (CC BY-SA 4.0, "
                            "Artetxe, Ruder & Yogatama 2019) around real background pages from public test WARC "
                            "files (see data/background/NOTICE.md in the faqmine repository)"),
            ("operator", "faqmine"),
            ("software", SOFTWARE),
            ("format", "WARC File Format 1.1"),
            ("conformsTo", "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"),
        ])
        writer.write([("WARC-Type", "warcinfo"), ("WARC-Date", warc_date(self.clock)),
                      ("WARC-Record-ID", self.warcinfo_id), ("Content-Type", "application/warc-fields"),
                      ("WARC-Filename", path.name)], info)
        forced = list(REASONS)
        self.rng.shuffle(forced)
        marks = [target * (k + 1) / (len(REASONS) + 1) for k in range(len(REASONS))]
        bad_share, faq_share = config.bad_share, config.faq_share
        while writer.size < target:
            if forced and writer.size >= marks[len(REASONS) - len(forced)]:
                self._bad(forced.pop(0))
                continue
            r = self.rng.random()
            if r < bad_share:
                reason = self.rng.choice(REASONS)
                if reason in forced:
                    forced.remove(reason)
                self._bad(reason)
            elif r < bad_share + faq_share:
                self._faq()
            else:
                self._background()
        for reason in forced:
            self._bad(reason)
        if config.bad_gzip_every and index % config.bad_gzip_every == 0:
            self._bad_gzip()
        writer.close()
        return writer.size, writer.records


def simulate(config: SimConfig, log: Callable[[str], None] = print) -> dict:
    """Write a simulated crawl under config.out; return the summary also written to simulation.json."""
    started = time.perf_counter()
    out = config.out
    (out / "warc").mkdir(parents=True, exist_ok=True)
    _clear_outputs(out)
    crawl = _Crawl(config, log)
    files: list[str] = []
    total = 0
    stamp = crawl.clock.strftime("%Y%m%d%H%M%S")
    targets = config.file_targets()
    for index, target in enumerate(targets):
        name = f"{config.crawl_id}-{stamp}-{index:05d}.warc.gz"
        size, records = crawl.write_file(index, target, out / "warc" / name)
        files.append(f"warc/{name}")
        total += size
        if not config.quiet:
            log(f"[{index + 1}/{len(targets)}] warc/{name}  {format_size(size)}  {records} records  "
                f"{time.perf_counter() - started:.1f} s")
    with open(out / "warc.paths.gz", "wb") as fh:
        fh.write(gzip.compress(("\n".join(files) + "\n").encode(), mtime=0))
    paths = crawl.truth.write(out / "truth")
    truth = crawl.truth
    summary = {
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()
                   if k not in ("out", "data_dir", "quiet")},
        "crawl": config.crawl_id,
        "warc_files": files,
        "bytes": total,
        "records": {"faq_pages": crawl.counts["faq_pages"], "duplicate_pages": crawl.counts["duplicate_pages"],
                    "background": crawl.counts["background"],
                    "faq_pages_not_made": crawl.counts["faq_pages_not_made"],
                    "bad": {k.split(":", 1)[1]: v for k, v in sorted(crawl.counts.items()) if k.startswith("bad:")}},
        "qas": len(truth.qa_rows),
        "qas_by_language": dict(sorted(crawl.languages.items())),
        "exact_duplicate_qas": sum(1 for r in truth.qa_rows if r["is_exact_dup_of"]),
        "near_dup_groups": len({r["near_dup_group"] for r in truth.qa_rows if r["near_dup_group"]}),
        "translation_groups": len({r["translation_group"] for r in truth.qa_rows if r["translation_group"]}),
        "sites": len({r["site"] for r in truth.page_rows}),
        "truth": {k: f"truth/{v.name}" for k, v in paths.items()},
    }
    (out / "simulation.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if not config.quiet:
        log(f"wrote {len(files)} WARC files ({format_size(total)}), {summary['records']['faq_pages']} FAQ pages, "
            f"{summary['qas']} QAs in {len(summary['qas_by_language'])} languages, truth under {out / 'truth'} "
            f"in {time.perf_counter() - started:.1f} s")
    return summary
