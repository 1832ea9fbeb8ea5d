"""What the DPO and GRPO trainers share: TRL settings that run on a 2-core CPU, LoRA on a private
copy of the chat model, a callback that feeds TRL's own logs to the gallery's `Reporter`, and
saving/loading adapters with a record of how they were trained.

The shared chat model is never touched: `policy(handle)` deep-copies it (`private_copy`) before
peft wraps it, and loading an adapter does the same.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from models.handle import ModelHandle, private_copy
from models.training import Reporter

LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj")
META = "training.json"


class AdapterError(ValueError):
    """An adapter folder cannot be used; the message is written for the user."""


def trl_args(**overrides: Any) -> dict[str, Any]:
    """TrainingArguments keywords every TRL run here uses.

    TRL 1.x defaults to bf16=True and gradient_checkpointing=True. On these CPUs bf16 is emulated
    and checkpointing runs every forward twice: one DPO step of 4 pairs with LoRA took ~100 s with
    the defaults and 8.7 s with both off. The model is fp32 and small, so both stay off here.
    """
    import torch

    kw: dict[str, Any] = dict(
        bf16=False,
        fp16=False,
        gradient_checkpointing=False,  # TRL's own field (default True)
        activation_checkpointing=False,  # transformers 5's name for it: set, so no FutureWarning
        use_cpu=not torch.cuda.is_available(),
        report_to="none",
        save_strategy="no",
        logging_steps=1,
        disable_tqdm=True,
        lr_scheduler_type="constant",  # the run ends on a clock, not after a planned step count
        max_steps=100_000,  # ended by the clock (see ReporterCallback)
        dataloader_num_workers=0,
        log_level="error",
    )
    kw.update(overrides)
    return kw


def lora_config(r: int = 16):
    from peft import LoraConfig

    return LoraConfig(
        r=r,
        lora_alpha=2 * r,
        lora_dropout=0.0,
        target_modules=list(LORA_TARGETS),
        task_type="CAUSAL_LM",
    )


def lora_size(config: Any, r: int = 16) -> int:
    """Trainable parameters of `lora_config(r)` on a Llama config: r · (in + out) per adapted
    projection, per layer (checked against peft's own count in the tests)."""
    d = config.hidden_size
    kv = config.num_key_value_heads * (
        getattr(config, "head_dim", None) or d // config.num_attention_heads
    )
    shapes = {"q_proj": (d, d), "k_proj": (d, kv), "v_proj": (d, kv), "o_proj": (d, d)}
    per_layer = sum(r * (i + o) for name, (i, o) in shapes.items() if name in LORA_TARGETS)
    return per_layer * config.num_hidden_layers


def logged_numbers(logs: dict[str, Any]) -> dict[str, float]:
    """The finite numbers of one TRL log line (strings, None and NaN dropped)."""
    out = {}
    for k, v in logs.items():
        if isinstance(v, bool) or not isinstance(v, int | float):
            continue
        if math.isfinite(v):
            out[k] = float(v)
    return out


def make_callback(reporter: Reporter, deadline: float, keys: tuple[str, ...], every: Any = None):
    """A `transformers.TrainerCallback` that sends TRL's `on_log` rows (only `keys`) to the
    reporter, stops training cleanly at `deadline` (time.monotonic) or when the reporter says so,
    and calls `every(state)` after each step (e.g. to record a group of completions)."""
    from transformers import TrainerCallback

    start = time.monotonic()

    class ReporterCallback(TrainerCallback):
        def __init__(self) -> None:
            self.step_times: list[float] = []
            self._t0 = time.perf_counter()

        def on_step_begin(self, args, state, control, **kw):
            self._t0 = time.perf_counter()

        def on_step_end(self, args, state, control, **kw):
            self.step_times.append(time.perf_counter() - self._t0)
            if every is not None:
                every(state)
            left = deadline - time.monotonic()
            reporter.progress(1 - left / max(1e-9, deadline - start), f"step {state.global_step}")
            if left <= 0 or reporter.should_stop():
                control.should_training_stop = True

        def on_log(self, args, state, control, logs=None, **kw):
            nums = logged_numbers(logs or {})
            row = {k: nums[k] for k in keys if k in nums}
            if row:
                reporter.log(step=state.global_step, **row)

    return ReporterCallback()


def quiet(trainer) -> None:
    """No per-step prints from transformers: the CLI prints JSON lines, the page draws curves."""
    from transformers import PrinterCallback, ProgressCallback

    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)


@dataclass
class TrainingRecord:
    """How an adapter was made (saved beside it as training.json; the pages show it)."""

    method: str  # "dpo" | "grpo"
    steps: int
    seconds: float
    seconds_per_step: float
    data: str
    settings: dict[str, Any]
    continued_from: str | None = None
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%d %H:%M"))


def save_adapter(model: Any, out: str | Path, record: TrainingRecord) -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    (out / META).write_text(json.dumps(asdict(record), indent=2))
    return out


def read_record(folder: str | Path) -> TrainingRecord | None:
    try:
        return TrainingRecord(**json.loads((Path(folder) / META).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def policy(handle: ModelHandle, adapter: str | Path | None = None, trainable: bool = False):
    """A private copy of the chat model, with the saved LoRA adapter loaded when given (a
    `PeftModel`; `with model.disable_adapter():` gives the reference back). Returns a Handle."""
    copy = private_copy(handle, train=False)
    if adapter is None:
        return copy
    folder = Path(adapter)
    if not (folder / "adapter_config.json").is_file():
        raise AdapterError(f"{folder}: no LoRA adapter here (adapter_config.json is missing)")
    from peft import PeftModel

    try:
        model = PeftModel.from_pretrained(copy.model, str(folder), is_trainable=trainable)
    except Exception as exc:  # a foreign or corrupt adapter
        raise AdapterError(
            f"{folder}: cannot load this adapter ({type(exc).__name__}: {exc})"
        ) from exc
    model.train(trainable)
    return replace(copy, model=model)


def adapter_off(model: Any):
    """A context in which a peft model answers as its base model (a no-op for a plain model)."""
    import contextlib

    return (
        model.disable_adapter() if hasattr(model, "disable_adapter") else contextlib.nullcontext()
    )


def mean_step(times: list[float]) -> float:
    """Seconds per optimizer step, the first (warm-up) step left out when there are others."""
    use = times[1:] if len(times) > 1 else times
    return round(sum(use) / len(use), 3) if use else 0.0


# ---------------------------------------------------------------- JSON-lines data

MAX_BYTES = 5_000_000
MAX_ROWS = 5_000
MAX_FIELD_CHARS = 4_000


def parse_jsonl(data: bytes, name: str, fields: dict[str, type]) -> list[dict[str, Any]]:
    """Rows of a JSON-lines file that each have `fields` (name -> type), or a DataError saying
    which line is wrong. Strings are capped; extra keys are kept."""
    from models.jsonl import DataError, objects

    if len(data) > MAX_BYTES:
        raise DataError(f"{name}: {len(data):,} bytes is over the {MAX_BYTES:,} byte limit")
    text = data.decode("utf-8", errors="replace")
    rows: list[dict[str, Any]] = []
    for where, row in objects(text, name, MAX_ROWS):
        if not isinstance(row, dict):
            raise DataError(f"{where}: expected an object with {', '.join(fields)}")
        for key, kind in fields.items():
            value = row.get(key)
            if kind is int and isinstance(value, float) and value.is_integer():
                value = row[key] = int(value)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise DataError(f"{where}: '{key}' must be {kind.__name__}")
            if isinstance(value, str):
                if not value.strip():
                    raise DataError(f"{where}: '{key}' is empty")
                row[key] = value[:MAX_FIELD_CHARS]
        rows.append(row)
    if not rows:
        raise DataError(f"{name}: no rows")
    return rows


def read_jsonl(path: str | Path, fields: dict[str, type]) -> list[dict[str, Any]]:
    from models.jsonl import DataError

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    return parse_jsonl(path.read_bytes(), str(path), fields)


def log_rows(path: str | Path) -> list[dict[str, Any]]:
    """The JSON-object lines of a command's saved output (a prepared state's train.log)."""
    rows = []
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return rows
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict):
                rows.append(row)
    return rows


# ---------------------------------------------------------------- the two command lines


def make_parser(prog: str, doc: str, helps: tuple[str, str], settings: Any):
    """(parser, train, evaluate): the two sub-commands (`helps`: what each does) with the
    arguments both CLIs share; `settings` (the trainer's dataclass) gives --lr's and --beta's
    defaults."""
    import argparse

    p = argparse.ArgumentParser(prog=prog, description=doc.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help=helps[0])
    e = sub.add_parser("evaluate", help=helps[1])
    add_common_args(t, e)
    t.add_argument("--lr", type=float, default=settings.learning_rate)
    t.add_argument("--beta", type=float, default=settings.beta,
                   help="β: how hard the policy is held to the reference model")  # fmt: skip
    return p, t, e


def add_common_args(train, evaluate, default_minutes: float = 5.0) -> None:
    """Arguments `python -m models.dpo` and `python -m models.grpo` share."""
    train.add_argument("--out", required=True, help="folder for the LoRA adapter + training.json")
    train.add_argument("--minutes", type=float, default=default_minutes, help="training budget")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--max-steps", type=int, default=None,
                       help="stop after this many steps, even with time left")  # fmt: skip
    evaluate.add_argument("--adapter", required=True, help="adapter folder, or none (the base)")


def summary(out: str, record: TrainingRecord, result: dict[str, Any]) -> dict[str, Any]:
    """The last JSON line of a train command: where, how long, and the held-out figures."""
    return {"out": out, "steps": record.steps, "seconds": record.seconds,
            "seconds_per_step": record.seconds_per_step, **result}  # fmt: skip


def _cli_errors() -> tuple[type[Exception], ...]:
    from models.sentiment_data import DataError

    return (DataError, AdapterError)


CLI_ERRORS = _cli_errors()  # what the DPO and GRPO command lines report as usage errors
