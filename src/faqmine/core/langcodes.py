"""Language and script codes: one convention for every `language` column, and the script of a text.

Convention: a language is written as its ISO 639-1 code where one exists (`en`, `de`, `zh`),
else its ISO 639-3 code (`ceb`, `yue`, `gsw`); never `eng` beside `en`. `normalize_language`
maps what pages declare (`en-US`, `de_DE`, `ger`, `zh-Hant-TW`, `iw`, `nb`), fastText labels
(`__label__en`, lid.176's Wikipedia codes such as `als` for Alemannic) and NLLB-style labels
(`__label__eng_Latn`, `arb_Arab`, `zsm_Latn`) into it. Two equivalences follow lid.176, so the
declared language can be compared with the model's: Norwegian Bokmål is `no`, Filipino is `tl`.

Scripts are ISO 15924 codes (`Latn`, `Cyrl`, `Arab`, `Hani`, `Jpan`, `Hang`, `Thai`, `Deva` ...),
read from the letters of the text (`script_of`).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import lru_cache

# ISO 639-1 -> ISO 639-3 (639-2/T) for every 639-1 code.
_ISO1_TO_3 = {
    "aa": "aar", "ab": "abk", "ae": "ave", "af": "afr", "ak": "aka", "am": "amh", "an": "arg", "ar": "ara",
    "as": "asm", "av": "ava", "ay": "aym", "az": "aze", "ba": "bak", "be": "bel", "bg": "bul", "bi": "bis",
    "bm": "bam", "bn": "ben", "bo": "bod", "br": "bre", "bs": "bos", "ca": "cat", "ce": "che", "ch": "cha",
    "co": "cos", "cr": "cre", "cs": "ces", "cu": "chu", "cv": "chv", "cy": "cym", "da": "dan", "de": "deu",
    "dv": "div", "dz": "dzo", "ee": "ewe", "el": "ell", "en": "eng", "eo": "epo", "es": "spa", "et": "est",
    "eu": "eus", "fa": "fas", "ff": "ful", "fi": "fin", "fj": "fij", "fo": "fao", "fr": "fra", "fy": "fry",
    "ga": "gle", "gd": "gla", "gl": "glg", "gn": "grn", "gu": "guj", "gv": "glv", "ha": "hau", "he": "heb",
    "hi": "hin", "ho": "hmo", "hr": "hrv", "ht": "hat", "hu": "hun", "hy": "hye", "hz": "her", "ia": "ina",
    "id": "ind", "ie": "ile", "ig": "ibo", "ii": "iii", "ik": "ipk", "io": "ido", "is": "isl", "it": "ita",
    "iu": "iku", "ja": "jpn", "jv": "jav", "ka": "kat", "kg": "kon", "ki": "kik", "kj": "kua", "kk": "kaz",
    "kl": "kal", "km": "khm", "kn": "kan", "ko": "kor", "kr": "kau", "ks": "kas", "ku": "kur", "kv": "kom",
    "kw": "cor", "ky": "kir", "la": "lat", "lb": "ltz", "lg": "lug", "li": "lim", "ln": "lin", "lo": "lao",
    "lt": "lit", "lu": "lub", "lv": "lav", "mg": "mlg", "mh": "mah", "mi": "mri", "mk": "mkd", "ml": "mal",
    "mn": "mon", "mr": "mar", "ms": "msa", "mt": "mlt", "my": "mya", "na": "nau", "nb": "nob", "nd": "nde",
    "ne": "nep", "ng": "ndo", "nl": "nld", "nn": "nno", "no": "nor", "nr": "nbl", "nv": "nav", "ny": "nya",
    "oc": "oci", "oj": "oji", "om": "orm", "or": "ori", "os": "oss", "pa": "pan", "pi": "pli", "pl": "pol",
    "ps": "pus", "pt": "por", "qu": "que", "rm": "roh", "rn": "run", "ro": "ron", "ru": "rus", "rw": "kin",
    "sa": "san", "sc": "srd", "sd": "snd", "se": "sme", "sg": "sag", "sh": "hbs", "si": "sin", "sk": "slk",
    "sl": "slv", "sm": "smo", "sn": "sna", "so": "som", "sq": "sqi", "sr": "srp", "ss": "ssw", "st": "sot",
    "su": "sun", "sv": "swe", "sw": "swa", "ta": "tam", "te": "tel", "tg": "tgk", "th": "tha", "ti": "tir",
    "tk": "tuk", "tl": "tgl", "tn": "tsn", "to": "ton", "tr": "tur", "ts": "tso", "tt": "tat", "tw": "twi",
    "ty": "tah", "ug": "uig", "uk": "ukr", "ur": "urd", "uz": "uzb", "ve": "ven", "vi": "vie", "vo": "vol",
    "wa": "wln", "wo": "wol", "xh": "xho", "yi": "yid", "yo": "yor", "za": "zha", "zh": "zho", "zu": "zul",
}

_TO_CONVENTION: dict[str, str] = {three: one for one, three in _ISO1_TO_3.items()}
_TO_CONVENTION.update({
    # ISO 639-2/B codes pages still declare
    "alb": "sq", "arm": "hy", "baq": "eu", "bur": "my", "chi": "zh", "cze": "cs", "dut": "nl", "fre": "fr",
    "geo": "ka", "ger": "de", "gre": "el", "ice": "is", "mac": "mk", "mao": "mi", "may": "ms", "per": "fa",
    "rum": "ro", "slo": "sk", "tib": "bo", "wel": "cy",
    # individual languages inside a macrolanguage that has a 639-1 code (NLLB-style labels)
    "arb": "ar", "cmn": "zh", "pes": "fa", "prs": "fa", "zsm": "ms", "ekk": "et", "lvs": "lv", "uzn": "uz",
    "khk": "mn", "plt": "mg", "npi": "ne", "swh": "sw", "azj": "az", "ydd": "yi", "gaz": "om", "quy": "qu",
    "ory": "or", "pbt": "ps", "knc": "kr", "twi": "tw", "fil": "tl", "nob": "no", "nb": "no",
    # deprecated 639-1 codes
    "iw": "he", "in": "id", "ji": "yi", "jw": "jv", "mo": "ro",
})
# lid.176 (Wikipedia) codes that are not ISO for the language fastText means by them.
_LID176_CODES = {"als": "gsw"}

_TAG_SPLIT = re.compile(r"[-_]")


def normalize_language(code: str | None) -> str | None:
    """A language tag or code in any of the forms above -> the convention, or None if it is not a language."""
    if not code:
        return None
    code = code.strip().lower()
    if code.startswith("__label__"):
        code = code[len("__label__"):]
        if "_" not in code:
            code = _LID176_CODES.get(code, code)
    primary = _TAG_SPLIT.split(code, maxsplit=1)[0]
    if not primary.isalpha() or not 2 <= len(primary) <= 3 or primary in ("x", "i", "und", "mul", "zxx"):
        return None
    return _TO_CONVENTION.get(primary, primary)


def to_iso639_3(code: str) -> str:
    """The ISO 639-3 (639-2/T) code of a code in our convention (`en` -> `eng`; 639-3 codes unchanged)."""
    return _ISO1_TO_3.get(code, code)


# ---------------------------------------------------------------- scripts

# First word of a character's Unicode name -> ISO 15924.
_SCRIPT_BY_NAME = {
    "LATIN": "Latn", "CYRILLIC": "Cyrl", "GREEK": "Grek", "ARABIC": "Arab", "HEBREW": "Hebr",
    "DEVANAGARI": "Deva", "BENGALI": "Beng", "GURMUKHI": "Guru", "GUJARATI": "Gujr", "ORIYA": "Orya",
    "TAMIL": "Taml", "TELUGU": "Telu", "KANNADA": "Knda", "MALAYALAM": "Mlym", "SINHALA": "Sinh",
    "THAI": "Thai", "LAO": "Laoo", "TIBETAN": "Tibt", "MYANMAR": "Mymr", "GEORGIAN": "Geor",
    "ARMENIAN": "Armn", "ETHIOPIC": "Ethi", "KHMER": "Khmr", "HANGUL": "Hang", "CJK": "Hani",
    "HIRAGANA": "Hira", "KATAKANA": "Kana", "MONGOLIAN": "Mong", "THAANA": "Thaa", "SYRIAC": "Syrc",
    "CHEROKEE": "Cher", "TIFINAGH": "Tfng", "CANADIAN": "Cans", "JAVANESE": "Java", "BALINESE": "Bali",
    "SUNDANESE": "Sund", "BOPOMOFO": "Bopo", "YI": "Yiii", "NKO": "Nkoo", "OL": "Olck",
}


@lru_cache(maxsize=65536)
def char_script(ch: str) -> str | None:
    """ISO 15924 script of one letter, None for digits, punctuation, symbols and white space."""
    if not ch.isalpha() and unicodedata.category(ch) not in ("Mn", "Mc", "Lo"):
        return None
    name = unicodedata.name(ch, "")
    if not name:
        return None
    first = name.split(" ", 1)[0]
    if first == "HALFWIDTH" or first == "FULLWIDTH":
        first = name.split(" ", 2)[1]
    return _SCRIPT_BY_NAME.get(first, "Zyyy")


def script_counts(text: str) -> Counter:
    counts: Counter = Counter()
    for ch in text:
        script = char_script(ch)
        if script is not None:
            counts[script] += 1
    return counts


def script_of(text: str) -> str:
    """The dominant script of a text's letters; Japanese (kana with or without kanji) is `Jpan`,
    Korean `Hang`, other Han text `Hani`; `Zyyy` when the text has no letters."""
    counts = script_counts(text)
    if not counts:
        return "Zyyy"
    kana = counts.get("Hira", 0) + counts.get("Kana", 0)
    if kana:
        han_kana = kana + counts.get("Hani", 0)
        if han_kana * 2 >= sum(counts.values()):
            return "Jpan"
    if counts.get("Hang", 0) and counts.get("Hang", 0) + counts.get("Hani", 0) >= max(counts.values()):
        return "Hang"
    return counts.most_common(1)[0][0]
