"""Classifier verbs: train, evaluate, classify (issue 3)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from modpipe.cli.common import State, err_console, fail, known_failures, say

if TYPE_CHECKING:
    from classifiers.recipes import DataSpec
    from classifiers.tagger import Tagger, TagResult

DataOpt = Annotated[list[Path], typer.Option("--data", help="JSONL ({text, labels}) or CSV file; repeatable.")]
TextCol = Annotated[str, typer.Option("--text-column", help="CSV column with the text.")]
LabelCol = Annotated[str, typer.Option("--label-column", help="CSV column with the label.")]
LabelMap = Annotated[
    str | None, typer.Option("--label-map", help="CSV label value -> category codes, e.g. `1=C8,0=` (0 = benign).")
]
_BATCH = 512


def _specs(data: list[Path], text_column: str, label_column: str, label_map: str | None) -> list[DataSpec]:
    from classifiers.data import parse_label_map
    from classifiers.recipes import DataSpec

    mapping = parse_label_map(label_map) if label_map else None
    missing = [str(p) for p in data if not p.is_file()]
    if missing:
        fail(f"--data: file not found: {', '.join(missing)}", code=2)
    return [DataSpec(p, text_column, label_column, mapping) for p in data]


def train(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the model to.")],
    data: DataOpt = [],  # noqa: B006 - typer reads the default, never mutates it
    text_column: TextCol = "text",
    label_column: LabelCol = "label",
    label_map: LabelMap = None,
    defaults: Annotated[
        bool,
        typer.Option("--defaults/--no-defaults", help="Add the default training sets (classifier.default_training)."),
    ] = True,
    c: Annotated[float, typer.Option("--c", help="Inverse regularisation of the logistic regressions.")] = 6.0,
) -> None:
    """Train a model on the default training sets (the corpus and the permissive public sets) plus --data into
    --out, with metadata and dev-split metrics."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from classifiers.exceptions import ClassifierError
    from classifiers.recipes import train_folder
    from modpipe.clock import SystemClock

    settings = State.settings()
    specs = _specs(data, text_column, label_column, label_map)
    if not specs and not defaults:
        fail("nothing to train on: give --data or keep the default training sets", code=2)
    steps = 4 + 2 * len(settings.categories)
    columns = (TextColumn("train"), BarColumn(), TextColumn("{task.fields[step]}"), TimeElapsedColumn())
    with known_failures(), Progress(*columns, console=err_console(), transient=False) as bar:
        task = bar.add_task("train", total=steps, step="")

        def progress(step: str) -> None:
            bar.update(task, advance=1, step=step)

        try:
            report = train_folder(settings, specs, out, SystemClock(), with_defaults=defaults, progress=progress, c=c)
        except ClassifierError as exc:
            fail(str(exc))
        bar.update(task, completed=steps, step="done")
    held = report.meta.get("held_out", {})
    say(f"model {report.version} -> {out} ({report.examples} examples, {report.seconds:.1f} s)")
    for code, s in held.items():
        say(f"  dev {code:>5}: P {s['precision']:.3f}  R {s['recall']:.3f}  F1 {s['f1']:.3f}  n={s['support']}")


def evaluate(
    model: Annotated[Path | None, typer.Option("--model", help="Model folder (default: the default model).")] = None,
    data: DataOpt = [],  # noqa: B006 - typer reads the default, never mutates it
    suite: Annotated[
        bool, typer.Option("--suite", help="Score every set of the datasets folder and the corpus dev split.")
    ] = False,
    text_column: TextCol = "text",
    label_column: LabelCol = "label",
    label_map: LabelMap = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Precision, recall, F1 per category on --data files, or with --suite the evaluation suite as one table."""
    from classifiers.exceptions import ClassifierError
    from classifiers.recipes import evaluate as run

    settings = State.settings()
    if not suite and not data:
        fail("give --data FILE (repeatable) or --suite", code=2)
    specs = _specs(data, text_column, label_column, label_map)
    with known_failures():
        try:
            tagger = _tagger(settings, model)
            if suite:
                _suite(settings, tagger, as_json)
                return
            examples = [e for spec in specs for e in spec.load()]
        except ClassifierError as exc:
            fail(str(exc))
        report = run(tagger, examples)
    if as_json:
        print(json.dumps(report, ensure_ascii=False, indent=1))
        return
    say(f"{report['examples']} examples, model {report['model_version']}, lexicons {report['lexicon_version']}")
    say(f"{'category':>9}  {'P':>6}  {'R':>6}  {'F1':>6}  support")
    for code, s in report["categories"].items():
        say(f"{code:>9}  {s['precision']:6.3f}  {s['recall']:6.3f}  {s['f1']:6.3f}  {s['support']}")
    o = report["offensive_vs_safe"]
    say(f"offensive vs safe (action review|block): macro P {o['precision']:.4f} R {o['recall']:.4f} F1 {o['f1']:.4f}")
    say("confusion (true -> flagged):")
    for true, row in report["confusion"].items():
        say(f"  {true:>7}: " + ", ".join(f"{k} {v}" for k, v in sorted(row.items())))


def _suite(settings: Any, tagger: Tagger, as_json: bool) -> None:
    from classifiers.suite import as_json as suite_json
    from classifiers.suite import run_suite, table

    scores = run_suite(settings, tagger)
    if as_json:
        print(json.dumps(suite_json(scores, tagger), ensure_ascii=False, indent=1))
        return
    say(f"model {tagger.model_version}, lexicons {tagger.lexicon_version}, policy {tagger.policy_version}")
    say("recall: violating rows flagged; r(cat): with a right category; FPR: benign rows flagged (all in %)")
    for line in table(scores):
        say(line)


def classify(
    text: Annotated[str | None, typer.Argument(help="Text to classify; without it, one text per stdin line.")] = None,
    jsonl: Annotated[
        Path | None, typer.Option("--jsonl", help="JSON lines with a `text` field (input messages work too).")
    ] = None,
    model: Annotated[Path | None, typer.Option("--model", help="Model folder (default: the default model).")] = None,
) -> None:
    """Print one JSON verdict per input, in input order."""
    from classifiers.exceptions import ClassifierError

    settings = State.settings()
    with known_failures():
        try:
            tagger = _tagger(settings, model)
        except ClassifierError as exc:
            fail(str(exc))
        batch: list[tuple[dict[str, Any], str]] = []
        for extra, item in _inputs(text, jsonl):
            batch.append((extra, item))
            if len(batch) >= _BATCH:
                _emit(tagger, batch)
                batch = []
        _emit(tagger, batch)


def _tagger(settings: Any, model: Path | None) -> Tagger:
    from classifiers.loading import load_tagger

    return load_tagger(settings, model_dir=model)


def _inputs(text: str | None, jsonl: Path | None) -> Iterator[tuple[dict[str, Any], str]]:
    if text is not None:
        yield {}, text
        return
    if jsonl is None:
        for line in sys.stdin:
            yield {}, line.rstrip("\n")
        return
    try:
        fh = jsonl.open(encoding="utf-8-sig")
    except OSError as exc:
        fail(f"--jsonl: {exc}", code=2)
    with fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                fail(f"{jsonl}:{number}: not JSON: {exc}")
            if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                fail(f"{jsonl}:{number}: an object with a string `text` field")
            extra = {"message_id": row["message_id"]} if "message_id" in row else {}
            yield extra, row["text"]


def _emit(tagger: Tagger, batch: list[tuple[dict[str, Any], str]]) -> None:
    if not batch:
        return
    for (extra, _), result in zip(batch, tagger.classify_batch([t for _, t in batch]), strict=True):
        print(json.dumps({**extra, **verdict_json(tagger, result)}, ensure_ascii=False), flush=False)
    sys.stdout.flush()
    err_console().file.flush()


def verdict_json(tagger: Tagger, result: TagResult) -> dict[str, Any]:
    return {
        "action": result.action.value,
        "categories": result.categories,
        "flagged": list(result.flagged),
        "sub_labels": result.sub_labels,
        "hits": [h.model_dump() for h in result.hits],
        "model_version": tagger.model_version,
        "lexicon_version": tagger.lexicon_version,
        "policy_version": tagger.policy_version,
    }
