"""Fast CPU backends for a sentence-transformers encoder: its transformer exported to ONNX, run by ONNX Runtime
(float32 or dynamic int8) or by OpenVINO.

`export_onnx(folder)` writes `<folder>/onnx/model.onnx` (torch.onnx, the TorchScript exporter) and
`<folder>/onnx/model_qint8.onnx` (onnxruntime's `quantize_dynamic`: int8 weights, per channel, activations
quantised per batch). `use_backend(model, folder, backend)` swaps the transformer module's torch `BertModel`
for a runtime session over one of those files; tokenisation, prompts, length-sorted batching, pooling and
normalisation stay sentence-transformers' own, so every backend goes through the same `encode`.

Why not sentence-transformers' own `backend="onnx"`: it needs `optimum-onnx` (transformers < 4.58) or
`optimum-intel` (transformers < 5.6, huggingface-hub < 1.22), and this project pins transformers 5.24 and
huggingface-hub 2.4. The files sit where sentence-transformers would put them (`onnx/`), so the
optimum route can replace this module once those packages follow transformers 5.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from faqmine.embedding.load import BACKENDS

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

ONNX_FILES = {"onnx": "onnx/model.onnx", "onnx-int8": "onnx/model_qint8.onnx", "openvino": "onnx/model.onnx"}
INPUTS = ("input_ids", "attention_mask")
OPSET = 17


def backend_file(folder: str | Path, backend: str) -> Path:
    """The exported file `backend` runs from the encoder folder; a missing one fails, naming it and how to build it."""
    if backend not in ONNX_FILES:
        raise ValueError(f"unknown encoder backend {backend!r} (choose from {', '.join(BACKENDS)})")
    path = Path(folder) / ONNX_FILES[backend]
    if not path.is_file():
        raise FileNotFoundError(
            f"encoder backend {backend!r} needs {path}, which is missing: build it with `make models` (or "
            f"`faqmine models build-onnx --model {folder}`)")
    return path


def export_onnx(folder: str | Path, force: bool = False) -> list[Path]:
    """Write onnx/model.onnx and onnx/model_qint8.onnx inside the sentence-transformers `folder` (each written
    next to its place and renamed in, so an interrupted export never leaves a file that looks complete)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from sentence_transformers import SentenceTransformer

    folder = Path(folder)
    fp32, int8 = folder / ONNX_FILES["onnx"], folder / ONNX_FILES["onnx-int8"]
    if fp32.is_file() and int8.is_file() and not force:
        print(f"{fp32.parent} already exported")
        return [fp32, int8]
    fp32.parent.mkdir(parents=True, exist_ok=True)
    model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    transformer = model[0]
    sample = transformer.tokenizer(["query: a short one", "query: and a somewhat longer second text"],
                                   padding=True, return_tensors="pt")

    class LastHiddenState(torch.nn.Module):
        def __init__(self, bert: torch.nn.Module) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    axes = {"0": "batch", "1": "sequence"}
    dynamic = {name: {int(k): v for k, v in axes.items()} for name in (*INPUTS, "last_hidden_state")}
    part = fp32.with_name(fp32.name + ".part")
    with torch.no_grad():
        torch.onnx.export(LastHiddenState(transformer.model.eval()), tuple(sample[n] for n in INPUTS), str(part),
                          input_names=list(INPUTS), output_names=["last_hidden_state"], dynamic_axes=dynamic,
                          opset_version=OPSET, dynamo=False)
    part.replace(fp32)
    print(f"wrote {fp32} ({fp32.stat().st_size / 1e6:.0f} MB)")
    part = int8.with_name(int8.name + ".part")
    quantize_dynamic(str(fp32), str(part), weight_type=QuantType.QInt8, per_channel=True)
    part.replace(int8)
    print(f"wrote {int8} ({int8.stat().st_size / 1e6:.0f} MB)")
    return [fp32, int8]


class _Runtime(torch.nn.Module):
    """What the transformer module calls instead of BertModel: token embeddings from an exported graph."""

    def __init__(self, config, run: Callable[[dict[str, np.ndarray]], np.ndarray]) -> None:
        super().__init__()
        self.config = config  # the transformers config (sentence-transformers reads the hidden size from it)
        self._run = run

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **_: object) -> dict:
        feeds = {"input_ids": input_ids.cpu().numpy().astype(np.int64, copy=False),
                 "attention_mask": attention_mask.cpu().numpy().astype(np.int64, copy=False)}
        return {"last_hidden_state": torch.from_numpy(np.ascontiguousarray(self._run(feeds), dtype=np.float32))}


def _onnxruntime(path: Path, threads: int):  # -> feeds -> array
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return lambda feeds: session.run(None, feeds)[0]


def _openvino(path: Path, threads: int):  # -> feeds -> array
    import openvino as ov

    # OpenVINO's own default precision: bfloat16 where the CPU has AMX or AVX512-BF16, float32 elsewhere
    compiled = ov.Core().compile_model(str(path), "CPU", {"INFERENCE_NUM_THREADS": threads,
                                                          "PERFORMANCE_HINT": "LATENCY"})
    request = compiled.create_infer_request()
    output = compiled.output(0)
    return lambda feeds: np.array(request.infer(feeds)[output])


def use_backend(model: SentenceTransformer, folder: str | Path, backend: str, threads: int | None = None,
                device: str | None = None) -> SentenceTransformer:
    """`model` with its transformer run by `backend` from the file exported into `folder` (torch: unchanged)."""
    if backend == "torch":
        return model
    path = backend_file(folder, backend)
    if device not in (None, "cpu"):
        raise ValueError(f"encoder backend {backend!r} runs on the CPU only; use --encoder-backend torch for {device}")
    threads = threads or torch.get_num_threads()
    transformer = model[0]
    run = _openvino(path, threads) if backend == "openvino" else _onnxruntime(path, threads)
    transformer.model = _Runtime(transformer.model.config, run)
    return model
