"""The read-only context around an item on its page: the post it replies to and the other replies, the group chat
around it, the author's other recent messages; each with the machine's verdict and, when queued, its status."""

from __future__ import annotations

from review.desk.context import Context, Neighbour
from review.desk.highlight import highlight
from review.desk.i18n import t
from review.desk.render import e, item_url


def _line(n: Neighbour, mark: str = "") -> str:
    shown = highlight(n.text, list(n.hits)) if n.hits else e(n.text)  # highlight() escapes every piece
    text = f'<a href="{e(item_url(n.message_id))}">{shown}</a>' if n.queued else shown
    status = f' <span class="badge status-{e(n.status)}">{e(n.status)}</span>' if n.queued else ""
    verdict = e(t("machine verdict"))
    return (
        f'<li data-id="{e(n.message_id)}"{mark}><span class="badge action-{e(n.action)}" title="{verdict}">'
        f"{e(n.action)}</span>{status} <b>{e(n.author_id)}</b> <time>{e(n.published_at)}</time> "
        f'<span class="ctx-text" lang="zh">{text}</span></li>'
    )


def _list(items: list[Neighbour], css: str) -> str:
    if not items:
        return f'<p class="{css} empty">{e(t("None in the records around this item."))}</p>'
    return f'<ul class="mini context {css}">' + "".join(_line(n) for n in items) + "</ul>"


def context_section(ctx: Context, item_id: str, item_text: str) -> str:
    parts: list[str] = []
    if ctx.parent_id:
        if ctx.parent is None:
            where = t("not in the queue and not found in the records searched")
            parent = f"<p>{e(t('Item'))} <code>{e(ctx.parent_id)}</code>: {e(where)}.</p>"
        else:
            source = t("from the queue") if ctx.parent.queued else t("from the records (the machine did not flag it)")
            parent = f'<ul class="mini context parent-post">{_line(ctx.parent)}</ul><p class="source">{e(source)}</p>'
        parts.append(
            f'<section class="parent" id="context-parent"><h2>{e(t("Replies to"))}</h2>{parent}'
            f"<h3>{e(t('Other replies'))}</h3>{_list(ctx.siblings, 'siblings')}</section>"
        )
    if ctx.group_id:
        here = f'<li class="current" data-id="{e(item_id)}"><b>{e(t("this item"))}</b> {e(item_text)}</li>'
        before = "".join(_line(n) for n in ctx.before)
        after = "".join(_line(n) for n in ctx.after)
        parts.append(
            f'<section class="chat" id="context-chat"><h2>{e(t("Group chat"))} <code>{e(ctx.group_id)}</code></h2>'
            f'<ol class="mini context chat">{before}{here}{after}</ol></section>'
        )
    heading = e(t("The author's messages around this item"))
    parts.append(
        f'<section class="author-messages" id="context-author"><h2>{heading}</h2>'
        f"{_list(ctx.author, 'author')}</section>"
    )
    if ctx.records_error:
        parts.append(f'<p class="error" id="context-error">{e(t("The records could not be read"))}: '
                     f"{e(ctx.records_error)}</p>")  # fmt: skip
    return "".join(parts)
