"""Server-rendered HTML of the QA queue (one drawn verdict to judge, blind) and of the QA dashboard (the estimates
per category with their intervals). Every value passes through `e()`; every word through `t()`."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from modpipe.settings import Settings
from review.desk.i18n import t
from review.desk.render import e, layout
from review.desk.shown import when
from review.queue.qa import NO_VIOLATION, Estimate, Stratum
from review.queue.qa_store import QaItem


def answer_url(qa_id: str) -> str:
    return "/qa/items/" + quote(qa_id, safe="") + "/answer"


def _category_name(settings: Settings, code: str) -> str:
    cat = settings.categories.get(code)
    return f"{code} {cat.name_zh} · {cat.id}" if cat else code


def qa_page(
    settings: Settings, item: QaItem | None, open_count: int, user: str, csrf: str, notice: str = "", error: str = ""
) -> str:
    banner = f'<p class="notice" role="status" id="qa-notice">{e(notice)}</p>' if notice else ""
    banner += f'<p class="error" role="alert">{e(error)}</p>' if error else ""
    head = f'<p><a href="/">{e(t("← queue"))}</a></p><h1>{e(t("Quality sampling"))}</h1>{banner}'
    head += f'<p class="summary" id="qa-open">{e(t("Open QA items"))}: {open_count}</p>'
    if item is None:
        body = head + f'<p class="empty">{e(t("Nothing to judge: every drawn verdict has an answer."))}</p>'
        return layout(t("Quality sampling"), body, user, csrf)
    src = item.source
    # Blind: neither the machine's action nor its scores are shown, so the answer is the moderator's own reading.
    buttons = (
        f'<button type="submit" name="label" value="{NO_VIOLATION}" class="confirm">{e(t("No violation"))}</button>'
    )
    buttons += "".join(
        f'<button type="submit" name="label" value="{e(code)}" class="overturn">{e(_category_name(settings, code))}'
        "</button>"
        for code in settings.categories
    )
    body = f"""{head}
<section class="qa-item" id="qa-item" data-id="{e(item.id)}">
<p>{e(t("Does this text violate the rules? If it does, choose the category it violates."))}</p>
<dl><dt>{e(t("Service type"))}</dt><dd>{e(src.get("service_type"))}</dd>
<dt>{e(t("Published"))}</dt><dd>{when(src.get("published_at"))}</dd></dl>
<div class="text" id="text" lang="zh">{e(src.get("text"))}</div>
<form method="post" action="{e(answer_url(item.id))}" class="decide qa-answer">
<input type="hidden" name="csrf" value="{e(csrf)}">{buttons}</form></section>"""
    return layout(t("Quality sampling"), body, user, csrf)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _cell(est: Estimate | None, stratum: Stratum | None) -> str:
    if stratum is None or est is None:
        return f'<td class="none">{e(t("no sample"))}</td>'
    counts = e(t("{hits} of {n} answered · {drawn} drawn · share {share}")).format(
        hits=est.hits, n=est.n, drawn=stratum.sampled, share=_pct(stratum.share)
    )
    if est.point is None:
        return f'<td class="none">{e(t("no answer yet"))}<br><small>{counts}</small></td>'
    return (
        f'<td><b class="estimate">{_pct(est.point)}</b> [{_pct(est.low)} – {_pct(est.high)}]<br>'
        f"<small>{counts}</small></td>"
    )


def _labels(stratum: Stratum | None) -> str:
    if stratum is None or not stratum.labels:
        return ""
    return ", ".join(f"{e(k)}×{v}" for k, v in sorted(stratum.labels.items()))


def dashboard_page(
    settings: Settings,
    strata: list[Stratum],
    window_days: int,
    model: str,
    models: list[str],
    user: str,
    csrf: str,
) -> str:
    by: Mapping[tuple[str, str], Stratum] = {(s.action, s.category): s for s in strata}
    codes = list(settings.categories) + sorted({s.category for s in strata} - set(settings.categories))
    rows = []
    for code in codes:
        block, passed = by.get(("block", code)), by.get(("pass", code))
        rows.append(
            f'<tr data-category="{e(code)}"><th>{e(_category_name(settings, code))}</th>'
            f"{_cell(block.estimate if block else None, block)}<td>{_labels(block)}</td>"
            f"{_cell(passed.estimate if passed else None, passed)}<td>{_labels(passed)}</td></tr>"
        )
    options = f'<option value="">{e(t("every model"))}</option>' + "".join(
        f'<option value="{e(m)}"{" selected" if m == model else ""}>{e(m)}</option>' for m in models
    )
    answered = sum(s.answered for s in strata)
    body = f"""<p><a href="/">{e(t("← queue"))}</a></p><h1>{e(t("QA dashboard: the tagger in production"))}</h1>
<form method="get" action="/qa/dashboard" class="filters">
<label>{e(t("Days"))} <input name="days" type="number" min="1" max="3650" value="{window_days}"></label>
<label>{e(t("Model"))} <select name="model">{options}</select></label>
<button type="submit">{e(t("Show"))}</button></form>
<p class="summary" id="qa-answered">{e(t("Answers in the window"))}: {answered}</p>
<table class="queue qa-dashboard" id="qa-dashboard"><thead><tr><th>{e(t("Category"))}</th>
<th>{e(t("Precision of blocks (judged correct)"))}</th><th>{e(t("Wrong blocks were"))}</th>
<th>{e(t("Miss rate of passes (judged violating)"))}</th><th>{e(t("Missed violations were"))}</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table>
<p class="note">{
        e(
            t(
                "Each figure is a share of the answered QA items of one category, with its 95% Wilson interval; "
                "the category of a pass is the one it scored highest in. See docs/review.md."
            )
        )
    }</p>"""
    return layout(t("QA dashboard"), body, user, csrf)
