"""Language identification of QA pairs with a fastText LID model, page evidence and WebFAQ's thresholds.

The model (fastText `lid.176.ftz` by default; `lid.176.bin` or any fastText LID model works,
including NLLB-style `__label__eng_Latn` labels) is loaded once per process (`load_identifier`
caches it) and applied to whole lists of texts in one `predict` call.

Decision for one QA (`decide`), WebFAQ's rule:
1. the language the page declares and a language code in the URL path are evidence: of
   those whose fastText score reaches `evidence_threshold` (0.12), the higher-scoring is accepted;
2. otherwise the model's top label is accepted if its score reaches `model_threshold` (0.25);
3. otherwise the QA is dropped as `language_uncertain`.
The text predicted on is question + answer (+ page title) on one line, case kept (lower-casing
costs lid.176 accuracy on German nouns in XQuAD).
Codes follow faqmine.core.langcodes (ISO 639-1 where one exists, else ISO 639-3).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from faqmine.core.langcodes import normalize_language, script_of
from faqmine.core.options import option

DEFAULT_MODEL_ENV = "FAQMINE_LID_MODEL"
EVIDENCE_DECLARED = "declared"
EVIDENCE_URL = "url"
EVIDENCE_MODEL = "model"
DROP_UNCERTAIN = "language_uncertain"

# A path segment that is a language tag: "de", "en-us", "pt_BR", "zh-hans", "sr-latn-rs".
_URL_LANG_SEGMENT = re.compile(r"^([a-z]{2})(?:[-_](?:[a-z]{2}|[a-z]{4}|\d{3})){0,2}$", re.IGNORECASE)
_URL_SEGMENTS_LOOKED_AT = 3
_NEWLINES = re.compile(r"[\r\n\u2028\u2029\x0b\x0c\x85]+")


def default_model_path() -> Path:
    """$FAQMINE_LID_MODEL, else the repository's models/lid.176.ftz (unpacked by `make setup`)."""
    env = os.environ.get(DEFAULT_MODEL_ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "models" / "lid.176.ftz"


@dataclass(frozen=True)
class LangIdConfig:
    """The knobs of language identification (the one place to change them)."""

    model_path: str = option("", flag="--lid-model", metavar="PATH",
                             help="fastText LID model (lid.176.ftz, lid.176.bin or any fastText LID model); "
                             "empty: the packaged models/lid.176.ftz")
    # at most 8 labels can score >= 0.12, so 10 always holds every usable piece of evidence
    top_k: int = option(10, flag="--lid-top-k", help="labels read per prediction")
    evidence_threshold: float = option(0.12, help="accept the page's declared or URL language if its fastText "
                                       "score reaches this")
    model_threshold: float = option(0.25, help="otherwise accept the top label if its score reaches this, else "
                                    "drop as language_uncertain")
    use_title: bool = option(True, flag="--no-title", help="predict on question + answer only, not the page title")
    use_declared: bool = option(True, flag="--no-page-evidence",
                                help="ignore the declared and URL languages: the top label decides")
    use_url: bool = option(True, cli=False)  # set with use_declared by --no-page-evidence

    def resolved_model_path(self) -> str:
        return str(Path(self.model_path) if self.model_path else default_model_path())


@dataclass(frozen=True)
class LangDecision:
    language: str | None  # None: dropped as language_uncertain
    score: float
    evidence: str | None  # declared, url or model
    top_language: str | None
    top_score: float


class LanguageIdentifier:
    """A fastText LID model predicting normalised language codes for lists of texts."""

    def __init__(self, model_path: str | Path) -> None:
        import fasttext

        path = Path(model_path)
        if not path.exists():
            raise FileNotFoundError(
                f"fastText LID model {path} not found (run `make setup` for models/lid.176.ftz, or pass --lid-model)"
            )
        if hasattr(fasttext.FastText, "eprint"):
            fasttext.FastText.eprint = lambda *args, **kwargs: None  # silence the load_model warning
        self.model = fasttext.load_model(str(path))
        self.path = str(path)
        labels = self.model.get_labels()
        self._codes = {label: normalize_language(label) for label in labels}
        self.languages = frozenset(c for c in self._codes.values() if c)

    def predict(self, texts: Sequence[str], k: int = 10) -> list[list[tuple[str, float]]]:
        """Top-k (language, score) per text, best first; labels mapping to one code are summed."""
        if not texts:
            return []
        lines = [_NEWLINES.sub(" ", t) for t in texts]
        labels, scores = self.model.predict(lines, k=k)
        out = []
        for row_labels, row_scores in zip(labels, scores, strict=True):
            merged: dict[str, float] = {}
            for label, score in zip(row_labels, np.asarray(row_scores, dtype=float).tolist(), strict=True):
                code = self._codes.get(label) or normalize_language(label)
                if code:
                    merged[code] = merged.get(code, 0.0) + score
            out.append(sorted(merged.items(), key=lambda kv: (-kv[1], kv[0])))
        return out


@cache
def load_identifier(model_path: str) -> LanguageIdentifier:
    """One model per process and path: Spark's reused Python workers load it once."""
    return LanguageIdentifier(model_path)


def declared_language(page_language: str | None) -> str | None:
    """`en-US`, `de_DE`, `zh-Hant` ... as the page declares it -> our code (None if absent or not a language)."""
    if not page_language:
        return None
    return normalize_language(page_language.split(",")[0])


def url_language(url: str | None) -> str | None:
    """A language code among the first path segments of a URL (`/de/faq`, `/en-gb/help`), else None."""
    if not url:
        return None
    try:
        path = urlsplit(url).path
    except ValueError:
        return None
    for segment in [s for s in path.split("/") if s][:_URL_SEGMENTS_LOOKED_AT]:
        match = _URL_LANG_SEGMENT.match(segment)
        if match:
            return normalize_language(match.group(1))
    return None


def decide(
    top: Sequence[tuple[str, float]],
    declared: str | None,
    url_lang: str | None,
    config: LangIdConfig = LangIdConfig(),
) -> LangDecision:
    """WebFAQ's rule (see the module docstring) on one text's top-k predictions."""
    scores = dict(top)
    top_language, top_score = (top[0][0], float(top[0][1])) if top else (None, 0.0)
    candidates = []
    if config.use_declared and declared:
        candidates.append((declared, EVIDENCE_DECLARED))
    if config.use_url and url_lang and url_lang != declared:
        candidates.append((url_lang, EVIDENCE_URL))
    for language, evidence in sorted(candidates, key=lambda c: -scores.get(c[0], 0.0)):
        score = scores.get(language, 0.0)
        if score >= config.evidence_threshold:
            return LangDecision(language, float(score), evidence, top_language, top_score)
    if top_language is not None and top_score >= config.model_threshold:
        return LangDecision(top_language, top_score, EVIDENCE_MODEL, top_language, top_score)
    return LangDecision(None, top_score, None, top_language, top_score)


def lid_text(question: str, answer: str, title: str | None, use_title: bool) -> str:
    parts = [question, answer]
    if use_title and title:
        parts.append(title)
    return " ".join(parts)


def identify(
    identifier: LanguageIdentifier,
    questions: Sequence[str],
    answers: Sequence[str],
    titles: Sequence[str | None],
    page_languages: Sequence[str | None],
    urls: Sequence[str | None],
    config: LangIdConfig = LangIdConfig(),
) -> list[LangDecision]:
    """Decisions for a batch of QAs with one model call."""
    texts = [lid_text(q, a, t, config.use_title) for q, a, t in zip(questions, answers, titles, strict=True)]
    predictions = identifier.predict(texts, k=config.top_k)
    return [
        decide(top, declared_language(declared), url_language(url), config)
        for top, declared, url in zip(predictions, page_languages, urls, strict=True)
    ]


def qa_script(question: str, answer: str) -> str:
    """ISO 15924 script of a QA's letters."""
    return script_of(question + " " + answer)
