"""Classifier benchmark: messages per CPU-second and peak memory of the full Tagger vs a naive baseline
(jieba.lcut + TfidfVectorizer + LinearSVC, one message at a time), on the COLD dev texts, in the same run.

Each side runs in its own subprocess so peak RSS (ru_maxrss) is its own. Throughput is measured in process CPU
time (per core) and wall time. Run: .venv/bin/python bench/classifier_bench.py [--limit N]
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COLD = REPO.parent / "shared" / "datasets" / "cold"


def _texts(name: str, limit: int) -> tuple[list[str], list[int]]:
    with (COLD / name).open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))[:limit]
    return [r["TEXT"] for r in rows], [int(r["label"]) for r in rows]


def _measure(fn, texts: list[str]) -> dict[str, float]:  # type: ignore[no-untyped-def]
    fn(texts[:50])  # warm-up
    c0, w0 = time.process_time(), time.perf_counter()
    fn(texts)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    return {"msgs_per_cpu_s": len(texts) / cpu, "msgs_per_wall_s": len(texts) / wall, "n": len(texts)}


def run_tagger(model: str, limit: int) -> dict[str, float]:
    sys.path.insert(0, str(REPO))
    from classifiers.loading import load_tagger
    from modpipe.settings import load_settings

    settings = load_settings(environ={})
    tagger = load_tagger(settings, model_dir=Path(model))
    texts, _ = _texts("dev.csv", limit)

    def go(batch: list[str]) -> None:
        for i in range(0, len(batch), 256):
            tagger.classify_batch(batch[i : i + 256])

    return _measure(go, texts)


def run_baseline(limit: int) -> dict[str, float]:
    import jieba
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    jieba.setLogLevel(60)
    jieba.initialize()
    train, labels = _texts("train.csv", 8000)
    vec = TfidfVectorizer(tokenizer=jieba.lcut, token_pattern=None, lowercase=False)
    clf = LinearSVC().fit(vec.fit_transform(train), labels)
    texts, _ = _texts("dev.csv", limit)

    def go(batch: list[str]) -> None:
        for t in batch:
            clf.predict(vec.transform([t]))

    return _measure(go, texts)


def child(args: argparse.Namespace) -> None:
    result = run_tagger(args.model, args.limit) if args.side == "tagger" else run_baseline(args.limit)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--limit", type=int, default=6500)
    p.add_argument("--model", default="")
    p.add_argument("--side", choices=["tagger", "baseline"])
    args = p.parse_args()
    if args.side:
        child(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model
        if not model:
            model = str(Path(tmp) / "model")
            t0 = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "modpipe", "train", "--out", model], cwd=REPO, check=True, capture_output=True
            )
            print(f"default model trained in {time.perf_counter() - t0:.1f} s wall")
        out = {}
        for side in ("tagger", "baseline"):
            cmd = [sys.executable, __file__, "--side", side, "--limit", str(args.limit), "--model", model]
            out[side] = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    t, b = out["tagger"], out["baseline"]
    print(f"{'':10}{'msgs/cpu-s':>12}{'msgs/wall-s':>13}{'peak RSS MB':>13}")
    for name, r in out.items():
        print(f"{name:10}{r['msgs_per_cpu_s']:12.0f}{r['msgs_per_wall_s']:13.0f}{r['peak_rss_mb']:13.0f}")
    print(
        f"ratio (cpu) {t['msgs_per_cpu_s'] / b['msgs_per_cpu_s']:.1f}x, (wall) "
        f"{t['msgs_per_wall_s'] / b['msgs_per_wall_s']:.1f}x; texts {t['n']}"
    )


if __name__ == "__main__":
    main()
