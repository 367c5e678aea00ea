"""What differs by language on a simulated site: UI words, region codes, legacy charsets, TLDs, URL slugs.

Only a few words per language are needed (the page title and navigation); all
running text on FAQ pages comes from XQuAD. Legacy charsets are those still seen
in Common Crawl for each script (labels as sites write them); `encode_as` names
the codec that produces the bytes when the label is a WHATWG alias (a page that
says iso-8859-1 is read as windows-1252 by browsers, so it may hold its bytes).
"""

from __future__ import annotations

from dataclasses import dataclass

FAQ_TITLE = {
    "en": "Frequently asked questions", "de": "Häufig gestellte Fragen", "es": "Preguntas frecuentes",
    "ro": "Întrebări frecvente", "tr": "Sıkça sorulan sorular", "vi": "Câu hỏi thường gặp",
    "ru": "Часто задаваемые вопросы", "el": "Συχνές ερωτήσεις", "ar": "الأسئلة الشائعة",
    "hi": "अक्सर पूछे जाने वाले प्रश्न", "th": "คำถามที่พบบ่อย", "zh": "常见问题",
}
NAV = {  # home, about, contact
    "en": ("Home", "About us", "Contact"), "de": ("Startseite", "Über uns", "Kontakt"),
    "es": ("Inicio", "Quiénes somos", "Contacto"), "ro": ("Acasă", "Despre noi", "Contact"),
    "tr": ("Ana sayfa", "Hakkımızda", "İletişim"), "vi": ("Trang chủ", "Giới thiệu", "Liên hệ"),
    "ru": ("Главная", "О нас", "Контакты"), "el": ("Αρχική", "Σχετικά με εμάς", "Επικοινωνία"),
    "ar": ("الرئيسية", "من نحن", "اتصل بنا"), "hi": ("होम", "हमारे बारे में", "संपर्क करें"),
    "th": ("หน้าแรก", "เกี่ยวกับเรา", "ติดต่อเรา"), "zh": ("首页", "关于我们", "联系我们"),
}
LANGUAGE_NAME = {
    "en": "English", "de": "Deutsch", "es": "Español", "ro": "Română", "tr": "Türkçe", "vi": "Tiếng Việt",
    "ru": "Русский", "el": "Ελληνικά", "ar": "العربية", "hi": "हिन्दी", "th": "ไทย", "zh": "中文",
}
REGIONS = {
    "en": ("en-US", "en-GB", "en-AU"), "de": ("de-DE", "de-AT", "de-CH"), "es": ("es-ES", "es-MX", "es-AR"),
    "ro": ("ro-RO",), "tr": ("tr-TR",), "vi": ("vi-VN",), "ru": ("ru-RU",), "el": ("el-GR",),
    "ar": ("ar-SA", "ar-EG", "ar-AE"), "hi": ("hi-IN",), "th": ("th-TH",), "zh": ("zh-CN", "zh-Hans"),
}
RTL = frozenset({"ar"})
# Scripts written without spaces between words: list and paragraph splits are only made at spaces.
NO_SPACES = frozenset({"zh", "th"})

# Country-code TLDs (public suffixes) a site in each language is likely to use, besides the generic ones.
CC_TLDS = {
    "en": ("co.uk", "com.au", "ca", "ie", "co.nz"), "de": ("de", "at", "ch"), "es": ("es", "com.mx", "com.ar", "cl"),
    "ro": ("ro",), "tr": ("com.tr",), "vi": ("vn", "com.vn"), "ru": ("ru",), "el": ("gr",),
    "ar": ("sa", "ae", "com.eg"), "hi": ("in", "co.in"), "th": ("co.th", "in.th"), "zh": ("cn", "com.cn"),
}
GENERIC_TLDS = ("com", "com", "com", "org", "net", "io", "info", "eu")
BACKGROUND_TLDS = ("com", "com", "com", "org", "net", "de", "co.uk", "com.br", "jp", "fr", "it", "nl", "pl",
                   "ru", "cn", "in", "es", "com.au", "co.jp", "se", "info", "io")

FAQ_SLUG = {
    "en": "frequently-asked-questions", "de": "haeufige-fragen", "es": "preguntas-frecuentes",
    "ro": "intrebari-frecvente", "tr": "sikca-sorulan-sorular", "vi": "cau-hoi-thuong-gap",
    "ru": "часто-задаваемые-вопросы", "el": "συχνές-ερωτήσεις", "ar": "الأسئلة-الشائعة",
    "hi": "अक्सर-पूछे-जाने-वाले-प्रश्न", "th": "คำถามที่พบบ่อย", "zh": "常见问题",
}


@dataclass(frozen=True)
class Charset:
    label: str  # as the page declares it
    encode_as: str  # Python codec that writes the bytes


UTF8 = Charset("UTF-8", "utf-8")
LEGACY_CHARSETS: dict[str, tuple[Charset, ...]] = {
    "en": (Charset("ISO-8859-1", "cp1252"), Charset("windows-1252", "cp1252")),
    "de": (Charset("ISO-8859-1", "cp1252"), Charset("iso-8859-15", "iso8859-15"), Charset("windows-1252", "cp1252")),
    "es": (Charset("ISO-8859-1", "cp1252"), Charset("windows-1252", "cp1252")),
    "ro": (Charset("ISO-8859-16", "iso8859-16"), Charset("windows-1250", "cp1250")),
    "tr": (Charset("windows-1254", "cp1254"), Charset("ISO-8859-9", "iso8859-9")),
    "ru": (Charset("windows-1251", "cp1251"), Charset("KOI8-R", "koi8-r")),
    "el": (Charset("ISO-8859-7", "iso8859-7"), Charset("windows-1253", "cp1253")),
    "ar": (Charset("windows-1256", "cp1256"), Charset("ISO-8859-6", "iso8859-6")),
    "th": (Charset("TIS-620", "tis-620"),),
    "zh": (Charset("gb2312", "gb18030"), Charset("GBK", "gb18030"), Charset("GB18030", "gb18030")),
    "vi": (),
    "hi": (),
}
