"""Term levels, sound-alike hits and spam signals: what each may do, and the evidence it leaves."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifiers.evidence import gather
from classifiers.exceptions import LexiconError
from classifiers.lexicon import Level, Lexicons, Matcher, load_lexicons
from classifiers.model import CategoryModel
from classifiers.normalize import match_view
from classifiers.signals import find_signals, find_signals_batch
from classifiers.tagger import Tagger
from modpipe.settings import Action, Settings, SettingsError, load_settings


def lexicon(tmp_path: Path, c7: str, allow: str = "") -> Lexicons:
    (tmp_path / "C7.test.txt").write_text(c7, encoding="utf-8")
    (tmp_path / "allow.test.txt").write_text(allow, encoding="utf-8")
    return load_lexicons([tmp_path])


def test_a_line_carries_term_sub_label_and_level(tmp_path: Path) -> None:
    lx = lexicon(tmp_path, "博彩平台|gambling|block\n百家乐|gambling\n上分||signal\n")
    assert {t.term: (t.sub_label, t.level) for t in lx.terms} == {
        "博彩平台": ("gambling", Level.BLOCK), "百家乐": ("gambling", Level.REVIEW), "上分": (None, Level.SIGNAL),
    }  # fmt: skip


def test_an_unknown_level_names_the_file_line_and_choices(tmp_path: Path) -> None:
    with pytest.raises(LexiconError, match=r"C7\.test\.txt:2: level 'hard': expected block, review or signal"):
        lexicon(tmp_path, "博彩|gambling|block\n百家乐|gambling|hard\n")


def test_a_term_listed_twice_keeps_its_strongest_level(tmp_path: Path) -> None:
    (tmp_path / "C7.b.txt").write_text("百家乐|gambling|block\n", encoding="utf-8")
    lx = lexicon(tmp_path, "百家乐|gambling|signal\n")
    assert [t.level for t in lx.terms] == [Level.BLOCK]


def test_sound_alikes_hit_never_block_and_everyday_words_are_signals(tmp_path: Path) -> None:
    m = Matcher(lexicon(tmp_path, "博彩|gambling|block\n大师|gambling|review\n"))
    found = {(x.term.term, x.level, x.homophone) for x in m.find(match_view("大湿带你玩菠菜"))}
    assert found == {("大师", Level.REVIEW, True), ("博彩", Level.SIGNAL, True)}
    exact = m.find(match_view("博彩"))
    assert [(x.level, x.homophone) for x in exact] == [(Level.BLOCK, False)]


def test_a_sound_alike_that_straddles_two_words_is_only_a_signal(tmp_path: Path) -> None:
    m = Matcher(lexicon(tmp_path, "魔考|cult|review\n坐台|porn|review\n"))
    exam = m.find(match_view("期末考试的安排"))  # 期末|考试: 末考 reads like 魔考
    play = m.find(match_view("这波操作太秀了"))  # 操作|太: 作太 reads like 坐台
    disguised = m.find(match_view("找妹子作太 私聊"))  # no everyday word around it: a disguise
    assert [(x.term.term, x.level) for x in exam] == [("魔考", Level.SIGNAL)]
    assert [(x.term.term, x.level) for x in play] == [("坐台", Level.SIGNAL)]
    assert [(x.term.term, x.level) for x in disguised] == [("坐台", Level.REVIEW)]


def test_sound_alikes_do_not_span_punctuation_and_respect_the_allow_list(tmp_path: Path) -> None:
    lx = lexicon(tmp_path, "无码|porn|review\n博彩|gambling|review\n", allow="菠菜汤\n")
    m = Matcher(lx)
    assert gather(m, ["报表有几处错误，麻烦再核对"]).matches == [[]]
    assert gather(m, ["今天喝菠菜汤"]).matches == [[]]
    assert [x.term.term for x in gather(m, ["误码全集"]).matches[0]] == ["无码"]


def test_spam_signals_are_found_with_their_spans() -> None:
    text = "首充送100 加vx: ab8829 或扣扣 一三八 零零 二三，官网 www点abc点com，电话138-1234 5678"
    kinds = {(s.kind, text[s.start : s.end]) for s in find_signals(text)}
    assert ("contact_wechat", "加vx: ab8829") in kinds
    assert ("contact_qq", "扣扣 一三八 零零 二三") in kinds
    assert ("phone", "138-1234 5678") in kinds
    assert ("earnings", "首充") in kinds
    assert any(k == "url" for k, _ in kinds)
    assert find_signals("今天天气不错，我们晚上吃火锅吧") == []


def test_a_batch_reads_each_text_where_it_stands() -> None:
    # İ lowers to two characters and e + U+0301 composes to one: read as one joined string, each shifted the spans
    # of every text after it in the batch.
    texts = ["İstanbul 电话 138-0013-8000", "ΣΑΣ qq 12345678", "e\u0301 vx abc", "加Ｖ信：ＡＢＣ１２３", "普通文本"]
    batch = find_signals_batch(texts)
    assert batch == [find_signals(t) for t in texts]
    assert [[t[s.start : s.end] for s in found] for t, found in zip(texts, batch, strict=True)] == [
        ["138-0013-8000"],
        ["qq 12345678"],
        ["vx"],
        ["加Ｖ"],
        [],
    ]


def test_levels_act_on_the_verdict(clf_settings: Settings, default_model_obj: CategoryModel, tmp_path: Path) -> None:
    # The signal-level term is an everyday phrase the model has no reason to score: what is measured is the level.
    # (It was 上分下分, real gambling jargon, which the model trained on the written spam now scores 0.9 by itself.)
    lx = lexicon(tmp_path, "博彩平台直招代理|gambling|block\n周末野餐|gambling|signal\n")
    tagger = Tagger(clf_settings.categories, lx, default_model_obj)
    blocked, hinted = tagger.classify_batch(["博彩平台直招代理", "周末野餐"])
    assert blocked.action is Action.BLOCK
    assert [(h.level, h.kind) for h in blocked.hits if h.category == "C7"] == [("block", "term")]
    assert [(h.level, h.kind) for h in hinted.hits if h.category == "C7"] == [("signal", "term")]
    assert hinted.categories["C7"] < clf_settings.categories["C7"].thresholds.review
    assert hinted.action is Action.PASS


def test_signals_are_evidence_in_the_verdict(tagger: Tagger) -> None:
    (result,) = tagger.classify_batch(["加vx: ab8829"])
    assert [(h.kind, h.category, h.matched) for h in result.hits] == [("signal", "signal", "加vx: ab8829")]


def test_service_thresholds_override_a_category_for_one_service(tagger: Tagger) -> None:
    strict = load_settings(
        environ={}, overrides={"categories.C7.service_thresholds": {"group": {"review": 0.0, "block": 0.0}}}
    )
    t = Tagger(strict.categories, tagger.lexicons, tagger.model)
    forum, group = t.classify_batch(["今天天气不错", "今天天气不错"], ["bbs", "group"])
    assert "C7" not in forum.flagged
    assert group.action is Action.BLOCK
    assert t.policy_version != tagger.policy_version


def test_service_thresholds_must_name_a_service_type() -> None:
    with pytest.raises(SettingsError, match="service_thresholds"):
        load_settings(
            environ={}, overrides={"categories.C7.service_thresholds": {"forum": {"review": 0.4, "block": 0.8}}}
        )


def test_a_quoted_review_term_is_a_mention_but_a_quoted_block_term_is_not(tmp_path: Path) -> None:
    m = Matcher(lexicon(tmp_path, "开光貔貅|superstition|review\n博彩平台直招代理|gambling|block\n"))
    quoted, used, blocked = gather(
        m, ["网上卖几千的“开光貔貅”，批发价三十", "开光貔貅转运 加v", "「博彩平台直招代理」"]
    ).matches
    assert [x.level for x in quoted] == [Level.SIGNAL]
    assert [x.level for x in used] == [Level.REVIEW]
    assert [x.level for x in blocked] == [Level.BLOCK]


def test_a_warning_about_a_review_term_is_a_mention_unless_it_carries_a_contact(tmp_path: Path) -> None:
    m = Matcher(lexicon(tmp_path, "刷单返利|fraud|review\n博彩平台直招代理|gambling|block\n"))
    warning, ad, disguised_ad, blocked = gather(
        m,
        [
            "警方提示：刷单返利都是诈骗，别上当",
            "刷单返利 日结 加v abc123",
            "谨防假冒！正宗刷单返利 私聊",
            "警方提示 博彩平台直招代理",
        ],
    ).matches
    assert [x.level for x in warning] == [Level.SIGNAL]
    assert [x.level for x in ad] == [Level.REVIEW]
    assert [x.level for x in disguised_ad] == [Level.REVIEW]
    assert [x.level for x in blocked] == [Level.BLOCK]


def test_a_category_may_carry_its_own_target_precision() -> None:
    settings = load_settings(environ={})
    assert settings.categories["C8"].target_precision == 0.86
    assert settings.categories["C4"].target_precision is None
    with pytest.raises(SettingsError, match=r"categories\.C8\.target_precision"):
        load_settings(environ={}, overrides={"categories.C8.target_precision": 1.5})
