"""What makes a bundle readable without modpipe: the folder it is written to, the spreadsheet view (records.csv) and
the README (Chinese and English) that says what every file and field is and how to verify them by hand.

The byte-exact rules a verifier needs are in docs/record-format.md; the README points at it and at the independent
verifier (retention/verifier/verify-bundle.mjs) rather than copying them, so there is one text to keep right.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from modpipe.settings import Settings
from retention.dates import parse_time
from retention.exceptions import OutputNotEmpty

# Every file a bundle can hold; --force replaces these and nothing else in the folder.
BUNDLE_FILES = ("records.jsonl", "records.csv", "access.jsonl", "tamper-report.json", "manifest.json", "README.md")
READER_ZONE = "Asia/Shanghai"  # the authorities read times in Beijing time; the bundle itself is in UTC


def prepare(out: Path, *, force: bool) -> None:
    """Create `out`, refusing a folder that holds anything unless `force`; with `force` the files of an older
    bundle are removed first (a stale records.csv beside a new records.jsonl would be mistaken for its view)."""
    if out.exists() and not out.is_dir():
        raise OutputNotEmpty(str(out), "exists and is not a folder")
    if out.is_dir():
        present = sorted(p.name for p in out.iterdir())
        if present and not force:
            shown = ", ".join(present[:5]) + (" ..." if len(present) > 5 else "")
            raise OutputNotEmpty(
                str(out), f"the folder is not empty ({shown}); choose an empty folder or give --force to replace it"
            )
        for name in BUNDLE_FILES:
            (out / name).unlink(missing_ok=True)
        shutil.rmtree(out / "tampered", ignore_errors=True)  # the versions an older bundle handed over
    out.mkdir(parents=True, exist_ok=True)


@dataclass(frozen=True)
class Names:
    """Display names for codes, from config/categories.yaml and config/services.yaml."""

    categories: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # code -> (Chinese, English)
    services: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def of(cls, settings: Settings) -> Names:
        return cls(
            {code: (c.name_zh, c.name_en) for code, c in settings.categories.items()},
            {name: (s.name_zh, s.name_en) for name, s in settings.services.items()},
        )

    def category(self, code: str) -> str:
        zh_en = self.categories.get(code)
        return f"{code} {zh_en[0]} / {zh_en[1]}" if zh_en else code

    def service(self, name: str) -> str:
        zh_en = self.services.get(name)
        return f"{zh_en[0]} / {zh_en[1]}" if zh_en else name


# (field, Chinese header, English header): the header row says both, as in "事件时间 event_at (UTC)"
CSV_COLUMNS = (
    ("event_at", "事件时间", "event_at (UTC)"), ("kind", "记录类型", "kind"),
    ("service_type", "服务类型", "service_type"), ("service_name", "服务名称", "service name"),
    ("message_id", "信息编号", "message_id"), ("author_id", "发布者编号", "author_id"),
    ("group_id", "群组编号", "group_id"), ("source_ip", "来源IP地址", "source_ip"),
    ("published_at", "发布时间", "published_at"), ("action", "机器处置", "action"),
    ("flagged", "命中类别", "flagged"), ("flagged_names", "类别名称", "category names"),
    ("outcome", "人工复核结果", "outcome"), ("moderator", "审核员", "moderator"),
    ("decided_at", "处置时间", "decided_at"), ("text", "内容", "text"),
    ("object_key", "存储对象", "object_key"), ("hash", "记录哈希(SHA-256)", "record hash (SHA-256)"),
)  # fmt: skip
CSV_HEADER = [f"{zh} {en}" for _key, zh, en in CSV_COLUMNS]
# Fields written by users: a cell starting with one of these is a formula to a spreadsheet program, so it gets a
# leading apostrophe in the view (records.jsonl keeps the exact value).
_USER_FIELDS = frozenset({"message_id", "author_id", "group_id", "text", "moderator"})
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_row(record: dict[str, Any], names: Names) -> list[Any]:
    data: dict[str, Any] = record.get("data") if isinstance(record.get("data"), dict) else {}  # type: ignore[assignment]
    message: dict[str, Any] = data["message"] if isinstance(data.get("message"), dict) else {}
    # a verdict names the categories it flagged, a decision the categories the moderator ruled on
    codes = data.get("flagged") if record.get("kind") == "verdict" else data.get("categories")
    flagged = [str(c) for c in codes] if isinstance(codes, list) else []
    values = {
        "event_at": record.get("event_at"), "kind": record.get("kind"), "service_type": record.get("service_type"),
        "service_name": names.service(str(record.get("service_type"))), "message_id": record.get("message_id"),
        "author_id": record.get("author_id"), "group_id": record.get("group_id"),
        "source_ip": message.get("source_ip"), "published_at": message.get("published_at"),
        "action": data.get("action"), "flagged": " ".join(flagged),
        "flagged_names": "; ".join(names.category(c) for c in flagged), "outcome": data.get("outcome"),
        "moderator": data.get("moderator"), "decided_at": data.get("decided_at"), "text": message.get("text"),
        "object_key": (record.get("stored_in") or {}).get("key"), "hash": record.get("hash"),
    }  # fmt: skip
    row = []
    for key, _zh, _en in CSV_COLUMNS:
        value = values[key]
        if key in _USER_FIELDS and isinstance(value, str) and value.startswith(_FORMULA_START):
            value = "'" + value
        row.append(value)
    return row


def _bounds(query: dict[str, Any], zone: ZoneInfo) -> list[str]:
    lines = []
    for label, name in (("起 from (含 inclusive)", "from"), ("止 to (不含 exclusive)", "to")):
        at = parse_time(query.get(name))
        if at is not None:
            lines.append(f"- {label}: `{query[name]}` (UTC) = `{at.astimezone(zone).isoformat()}` ({zone.key})")
    return lines


def readme(manifest: dict[str, Any], *, zone_name: str = READER_ZONE) -> str:
    """The bundle's README.md: what it is, its window, its files and fields, and how to check it by hand."""
    zone = ZoneInfo(zone_name)
    query, counts = manifest.get("query", {}), manifest.get("counts", {})
    window = _bounds(query, zone)
    if not window and query.get("date"):
        window = [f"- 日期 day: `{query['date']}` (UTC 00:00 – 24:00, 即北京时间 08:00 至次日 08:00 / "
                  "08:00 Beijing time to 08:00 the next day)"]  # fmt: skip
    filters = {k: query.get(k) for k in ("services", "author", "group") if query.get(k)}
    listed = [*manifest.get("files", {}), "manifest.json"]
    tampered = (
        "篡改对象或清单的一个存储版本（原样字节）/ one stored version of a tampered object or manifest, as stored"
    )
    files = "\n".join(
        f"- `{name}`: {FILE_NOTES.get(name, tampered if name.startswith('tampered/') else '')}" for name in listed
    )
    by_service = counts.get("by_service", {})
    count_lines = "\n".join(
        f"  - `{svc}`: " + ", ".join(f"{n} {kind}" for kind, n in kinds.items()) for svc, kinds in by_service.items()
    )
    return TEMPLATE.format(
        command=query.get("command", "?"),
        format=manifest.get("format", "?"),
        window="\n".join(window) or "- (see manifest.json `query`)",
        rule=query.get("window", ""),
        filters=filters or "none / 无",
        records=counts.get("records", 0),
        count_lines=count_lines or "  - (none / 无)",
        objects=len(manifest.get("objects_read", [])),
        duplicates=manifest.get("duplicates_skipped", 0),
        unlisted=len(manifest.get("unlisted_objects", [])),
        files=files,
        zone=zone_name,
    )


def summary(manifest: dict[str, Any], out: Path) -> dict[str, Any]:
    """What a machine reading `--json` needs; the console shows the same in words."""
    query = manifest.get("query", {})
    return {
        "out": str(out),
        "format": manifest.get("format"),
        "command": query.get("command"),
        "from": query.get("from"),
        "to": query.get("to"),
        "date": query.get("date"),
        "records": manifest["counts"]["records"],
        "by_service": manifest["counts"]["by_service"],
        "objects_read": len(manifest.get("objects_read", [])),
        "manifests_read": len(manifest.get("manifests_read", [])),
        "holds_read": len(manifest.get("holds_read", [])),
        "duplicates_skipped": manifest.get("duplicates_skipped", 0),
        "unlisted_objects": manifest.get("unlisted_objects", []),
        "files": manifest.get("files", {}),
        **({"report": {k: v for k, v in manifest["report"].items() if k != "items"}} if "report" in manifest else {}),
    }


def summary_lines(info: dict[str, Any], names: Names | None = None) -> list[str]:
    names = names or Names()
    window = f"[{info['from']}, {info['to']}) UTC" if info.get("from") else f"day {info.get('date')} (UTC)"
    lines = [f"exported {info['records']} records of {window} to {info['out']} ({info['command']})"]
    for service, kinds in info["by_service"].items():
        shown = ", ".join(f"{n} {kind}" for kind, n in kinds.items())
        lines.append(f"  {service} ({names.service(service)}): {shown}")
    holds = f" and {info['holds_read']} hold records" if info.get("holds_read") else ""
    lines.append(
        f"  read {info['objects_read']} objects listed by {info['manifests_read']} manifests{holds}; "
        f"{info['duplicates_skipped']} duplicate copies skipped (listed in manifest.json)"
    )
    if info["unlisted_objects"]:
        lines.append(f"  note: {len(info['unlisted_objects'])} objects not in any manifest (verified by their chains)")
    for name, meta in info["files"].items():
        lines.append(f"  {name}: {meta['bytes']} bytes, sha256 {meta['sha256']}")
    lines.append("  check it: modpipe audit verify DIR, or node retention/verifier/verify-bundle.mjs DIR")
    return lines


FILE_NOTES = {
    "records.jsonl": "每行一条存储记录（原样字节，附 `stored_in`）/ one stored record per line, its stored bytes "
    "plus `stored_in`; covered by the record hashes and the file's SHA-256",
    "records.csv": "供电子表格查看（UTF-8 带 BOM，中英文表头；不是证据原件）/ a spreadsheet view (UTF-8 with BOM, "
    "Chinese and English headers); not the evidence itself, only its file SHA-256 is checked",
    "access.jsonl": "本时间窗口内的访问记录（谁、何时、查询、计数）/ the access log of the window (who, when, what, "
    "counts): each line the stored bytes of one access/ object, whose key, version and SHA-256 are in "
    "`manifest.json` → `access_read`",
    "tamper-report.json": "篡改报告 / the tamper report: each tampered object or manifest, its versions, what "
    "differs, which version the records come from, and the files under `tampered/` holding every stored version",
    "README.md": "本说明 / this file",
    "manifest.json": "查询条件、计数、读取的对象及版本、各文件的 SHA-256 / the query, counts, the objects and "
    "versions read, the SHA-256 of every other file (it is not listed in itself)",
}

TEMPLATE = """\
# modpipe 审计数据包 / modpipe audit bundle

由 `modpipe {command}` 生成（格式 `{format}`）。本文件夹可以脱离 modpipe 独立阅读和校验。
Written by `modpipe {command}` (format `{format}`). This folder can be read and checked without modpipe.

## 时间范围 / Window

{window}

- 规则 / rule: {rule}
- 包内所有时间均为 UTC（以 `Z` 结尾）；上面给出了对应的{zone}时间。
  Every time inside the bundle is UTC (ending in `Z`); the {zone} equivalents are given above.
- 筛选条件 / filters: {filters}

## 计数 / Counts

- 记录数 / records: {records} (each record identity once / 每个记录身份只出现一次)
{count_lines}
- 读取的存储对象 / stored objects read: {objects}
- 跳过的重复副本 / duplicate copies skipped: {duplicates} (listed in `manifest.json` → `duplicates`)
- 未列入清单的对象 / objects in no manifest: {unlisted}

## 文件 / Files

{files}

## 记录字段 / Record fields (`records.jsonl`, one JSON object per line)

- `v`: 记录格式版本 / record format version (1)
- `kind`: 记录类型 / kind: `verdict` 机器判定 (a machine verdict), `decision` 人工复核 (a moderator's decision),
  `dead_letter` 无法处理的信息 (a message no agent could take: `data.value_b64` is its original bytes in base64,
  `data.reason` why, `data.received_at` when, `data.topic`/`partition`/`offset` where it was read; kept for the
  longest period, under `unclassified`), `other` 其他 (anything else)
- `service_type`: 服务类型，决定保存期限 / the service type, which decides the retention period
- `message_id`: 被判定信息的编号 / id of the message the record is about
- `event_at`: 记录时间（UTC）：判定取信息发布时间，复核取复核时间 / the record's time (UTC): a verdict's message
  `published_at`, a decision's `decided_at`
- `author_id`, `group_id`: 发布者、群组 / author and group of the message
- `source`: 来源位置 / the Kafka position it was consumed from, `{{topic, partition, offset}}`
- `retain_until`: 最早可删除时间（UTC）/ the first instant it may be deleted (UTC)
- `notes`: 可选，存储时的说明 / optional: what was unusual when it was stored
- `data`: 原样收到的判定或复核；判定的 `data.message` 是原始信息（正文 `text`、发布时间 `published_at`、
  IP 地址 `source_ip`）/ the verdict or decision exactly as received; a verdict's `data.message` is the input
  message (`text`, `published_at`, `source_ip`)
- `seq`: 在存储对象中的序号，从 0 起 / position in its stored object, from 0
- `prev`: 前一条记录的哈希，第一条为对象的创世哈希 / hash of the record before it (the object's genesis hash for
  the first)
- `hash`: 本记录的 SHA-256（小写十六进制）/ this record's SHA-256 (lowercase hex)
- `stored_in`: 导出时添加，存储对象的键和版本，不在哈希范围内 / added by the export: key and version id of the
  stored object (not covered by `hash`)
- `held_from`: 仅见于从法律保全副本读取的记录（`stored_in.key` 以 `holds/copies/` 开头）：原始对象的键、版本及本记录
  在原链中的 `seq`、`prev`、`hash`；副本由其保全记录列出（`manifest.json` → `holds_read`）/ only in records read
  from a legal-hold copy (`stored_in.key` under `holds/copies/`): the original object's key and version and the
  record's `seq`, `prev`, `hash` in the original chain; the copy's hold record (`holds_read`) lists the copy

判定 `data` 的主要字段 / main fields of a verdict's `data`: `verdict_id`, `action` (pass / review / block),
`categories` (类别分数 / scores), `flagged` (达到阈值的类别 / categories at their threshold), `hits`,
`model_version`, `lexicon_version`, `policy_version`, `decided_by`, `decided_at`, `message`.
复核 `data` / a decision's `data`: `decision_id`, `outcome` (confirmed / overturned / reopened 重新复核), `moderator`,
`decided_at`, `previous_action`, `verdict_id`, `categories`, `comment`, `tags` (违规标签 / violation tags),
`corrects` (所更正的复核 / the decision it corrects), `prior_outcome` (更正前的结果 / the outcome before it).
类别代码见 `records.csv` 的“类别名称”列 / category codes are named in the CSV's "category names" column
(config/categories.yaml: the nine kinds of Order 292 Art. 15).

## 摘要值 / Digests

包内所有摘要都是 SHA-256 的小写十六进制（64 个字符）。
Every digest in the bundle is SHA-256 in lowercase hex (64 characters).
`manifest.json` → `objects_read[].sha256` 是存储对象字节的 SHA-256；S3 以 base64 形式报告同一个值
（`x-amz-checksum-sha256` / ChecksumSHA256），比较前先 base64 解码再转十六进制。
`objects_read[].sha256` is the SHA-256 of the stored object's bytes; S3 reports the same digest base64-encoded
(its native `x-amz-checksum-sha256` / ChecksumSHA256, also kept that way in the hourly manifests in S3): decode the
base64 and hex-encode it to compare.

## 如何校验 / How to verify

1. 独立校验程序（Node.js 20+，无依赖）/ the independent verifier (Node.js 20+, no dependencies): the folder
   `retention/verifier/` of the modpipe source — use your own copy, not one handed over with the bundle:
   `node retention/verifier/verify-bundle.mjs <this folder>` (exit 0 = OK, 1 = names the failing record or object).
2. 手工 / by hand, following the byte-exact specification `docs/record-format.md` of the modpipe source:
   - `sha256sum records.jsonl` (and the other files) must equal `manifest.json` → `files`;
   - for each line: drop the `hash` and `stored_in` fields, write the rest in the canonical JSON form, and its
     SHA-256 must equal `hash`;
   - within each object (`stored_in.key`), `seq` counts from 0, the first record's `prev` is
     SHA-256("modpipe-chain-v1" + one zero byte + the object key), every later `prev` is the `hash` of the record
     with the previous `seq`, and the object's last record's `hash` equals `objects_read[].last_hash`;
   - the number of lines equals `counts.records`, and no record identity appears twice.
3. 联机 / online, against the S3 server: `modpipe audit verify <this folder>` also checks that every object read is
   still, byte for byte, the version named in `objects_read`.

离线校验只能证明本包内部一致；要证明未被整体替换，请联机校验或对照之前获得的检查点。
An offline check proves the bundle consistent in itself; that it was not replaced as a whole takes the online check
(or a checkpoint kept from earlier).
"""
