from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from classifiers.normalize import match_view, match_view_with_map, model_view, original_span

TEXT = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0x20, max_codepoint=0x7E),
        st.sampled_from("傻逼赌博頭髮①⑴ⓐ𝐚ⅨＡＢＣ\u200b\u200d\ufeff 　，。！😀🙂★※·-_/"),
        st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
    ),
    max_size=40,
)


@given(TEXT)
@settings(max_examples=300, deadline=None)
def test_fast_and_mapped_paths_agree(text: str) -> None:
    view, origin = match_view_with_map(text)
    assert view == match_view(text)
    assert len(origin) == len(view)
    assert origin == sorted(origin)
    assert all(0 <= i < len(text) for i in origin)


@given(TEXT)
@settings(max_examples=200, deadline=None)
def test_every_view_character_comes_from_its_original(text: str) -> None:
    view, origin = match_view_with_map(text)
    for k, i in enumerate(origin):
        assert view[k] in match_view(text[i]) or match_view(text[i]) == ""


@given(TEXT)
@settings(max_examples=200, deadline=None)
def test_spans_map_back_inside_the_text(text: str) -> None:
    view, origin = match_view_with_map(text)
    for start in range(len(view)):
        for end in range(start + 1, min(len(view), start + 4) + 1):
            a, b = original_span(origin, start, end, text)
            assert 0 <= a < b <= len(text)
            assert view[start:end] in match_view(text[a:b])  # a multi-letter character (Ⅸ) maps as a whole


def test_lookalikes_width_case_and_traditional() -> None:
    assert match_view("ＳＢ") == "sb"
    assert match_view("①⑴ⓐ𝐚Ⅸ") == "1aix"  # 1 1 a a i x, runs collapsed
    assert match_view("頭髮") == "头发"
    assert match_view("раураl") == "paypal"  # Cyrillic look-alikes
    assert match_view("傻\u200b 逼!!") == "傻逼"


def test_model_view_keeps_punctuation_and_drops_invisible() -> None:
    assert model_view("你好，ＷＯＲＬＤ！\u200b") == "你好,world!"
    assert model_view("a\nb") == "a b"
