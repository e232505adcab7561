"""Typed config/measures.yaml: strike weights per category, one ladder of graded measures per subject type, and
the credit levels (group-service rules Art. 11, public-account rules Art. 13)."""

from __future__ import annotations

from enum import StrEnum
from itertools import pairwise
from typing import Annotated

from pydantic import Field, ValidationInfo, field_validator, model_validator

from modpipe.settings.base import Frozen, NonEmpty, seconds

CategoryCode = Annotated[str, Field(pattern=r"^C[1-9][0-9]*$")]
Points = Annotated[int, Field(ge=1, le=10_000)]


class SubjectType(StrEnum):
    ACCOUNT = "account"
    PUBLIC_ACCOUNT = "public_account"
    GROUP = "group"
    GROUP_ADMIN = "group_admin"  # a group's owner or admin, held to account for the group they run


class MeasureKind(StrEnum):
    WARNING = "warning"  # 警示整改
    RESTRICT_FUNCTIONS = "restrict_functions"  # 限制功能
    SUSPEND_POSTING = "suspend_posting"  # 暂停发布 / 暂停更新
    CLOSE = "close"  # 关闭
    LOWER_CREDIT = "lower_credit"  # 降低信用等级
    SUSPEND_ADMIN = "suspend_admin"  # 暂停管理权限
    REVOKE_GROUP_CREATION = "revoke_group_creation"  # 取消建群资格
    BLACKLIST = "blacklist"  # 黑名单: never a step of its own; a step's `blacklist: true` or a moderator


_CONTENT_MEASURES = frozenset(
    {MeasureKind.WARNING, MeasureKind.RESTRICT_FUNCTIONS, MeasureKind.SUSPEND_POSTING, MeasureKind.CLOSE}
)
ALLOWED_MEASURES: dict[SubjectType, frozenset[MeasureKind]] = {
    SubjectType.ACCOUNT: _CONTENT_MEASURES,
    SubjectType.PUBLIC_ACCOUNT: _CONTENT_MEASURES,
    SubjectType.GROUP: _CONTENT_MEASURES,
    SubjectType.GROUP_ADMIN: frozenset(
        {
            MeasureKind.WARNING,
            MeasureKind.LOWER_CREDIT,
            MeasureKind.SUSPEND_ADMIN,
            MeasureKind.REVOKE_GROUP_CREATION,
        }
    ),
}
# A suspension or restriction without an end would be a closure under another name.
_NEEDS_DAYS = frozenset(
    {MeasureKind.RESTRICT_FUNCTIONS, MeasureKind.SUSPEND_POSTING, MeasureKind.SUSPEND_ADMIN, MeasureKind.LOWER_CREDIT}
)
# A warning is a notice (it has nothing to lift); a closure lasts until a moderator reopens.
_NO_DAYS = frozenset({MeasureKind.WARNING, MeasureKind.CLOSE})


class CategoryWeight(Frozen):
    points: Points
    sub_labels: dict[NonEmpty, Points] = Field(default_factory=dict)

    def for_sub_label(self, sub_label: str | None) -> int:
        return self.points if sub_label is None else self.sub_labels.get(sub_label, self.points)


class LadderStep(Frozen):
    points: Points
    measure: MeasureKind
    days: Annotated[int, Field(ge=1, le=36500)] | None = None
    blacklist: bool = False
    levels: Annotated[int, Field(ge=1, le=10)] | None = None  # lower_credit only: credit levels taken off

    @model_validator(mode="after")
    def _duration_fits_measure(self) -> LadderStep:
        if self.measure is MeasureKind.BLACKLIST:
            raise ValueError("a measure other than blacklist (set `blacklist: true` on a step instead)")
        if self.measure in _NEEDS_DAYS and self.days is None:
            raise ValueError(f"`days` for {self.measure.value}: it must end")
        if self.measure in _NO_DAYS and self.days is not None:
            raise ValueError(f"no `days` for {self.measure.value}")
        if self.levels is not None and self.measure is not MeasureKind.LOWER_CREDIT:
            raise ValueError(f"`levels` only on lower_credit steps, not on {self.measure.value}")
        return self

    @property
    def credit_levels(self) -> int:
        if self.measure is MeasureKind.LOWER_CREDIT:
            return self.levels or 1
        return 0


class Ladder(Frozen):
    window_days: Annotated[int, Field(ge=1, le=3650, description="days of the rolling window points count in")]
    steps: Annotated[tuple[LadderStep, ...], Field(min_length=1)]

    @field_validator("steps")
    @classmethod
    def _rising(cls, steps: tuple[LadderStep, ...]) -> tuple[LadderStep, ...]:
        points = [s.points for s in steps]
        if any(b <= a for a, b in pairwise(points)):
            raise ValueError(f"steps in strictly rising order of points; got {points}")
        return steps


class Ladders(Frozen):
    account: Ladder
    public_account: Ladder
    group: Ladder
    group_admin: Ladder

    @field_validator("account", "public_account", "group", "group_admin")
    @classmethod
    def _measures_fit_subject(cls, ladder: Ladder, info: ValidationInfo) -> Ladder:
        subject = SubjectType(str(info.field_name))
        allowed = ALLOWED_MEASURES[subject]
        wrong = [f"step {i + 1}: {s.measure.value}" for i, s in enumerate(ladder.steps) if s.measure not in allowed]
        if wrong:
            names = ", ".join(sorted(m.value for m in allowed))
            raise ValueError(f"measures for a {subject.value} among {names}; got {wrong}")
        return ladder

    def of(self, subject: SubjectType) -> Ladder:
        ladder: Ladder = getattr(self, SubjectType(subject).value)
        return ladder


class CreditLevel(Frozen):
    level: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9+-]{0,7}$", description="a level name such as A or B+")]
    min_score: Annotated[int, Field(ge=0)]


class CreditSettings(Frozen):
    max_score: Annotated[int, Field(ge=1, le=1_000_000)]
    points_penalty: Annotated[float, Field(gt=0, description="score lost per strike point (e.g. 5)")]
    history_days: Annotated[int, Field(ge=1, le=36500)]
    recovery_days: Annotated[int, Field(ge=1, le=36500)]
    unconfirmed_factor: Annotated[float, Field(ge=0, le=1)]
    levels: Annotated[tuple[CreditLevel, ...], Field(min_length=1)]

    @model_validator(mode="after")
    def _levels_cover_the_scale(self) -> CreditSettings:
        names = [lv.level for lv in self.levels]
        if len(set(names)) != len(names):
            raise ValueError(f"levels with distinct names; got {names}")
        bounds = [lv.min_score for lv in self.levels]
        if any(b >= a for a, b in pairwise(bounds)):
            raise ValueError(f"levels from best to worst, min_score strictly falling; got {bounds}")
        if bounds[-1] != 0:
            raise ValueError(f"a last (worst) level with min_score 0, so every score has a level; got {bounds[-1]}")
        if bounds[0] > self.max_score:
            raise ValueError(f"a best level reachable: min_score {bounds[0]} above max_score {self.max_score}")
        return self

    def level_of(self, score: int) -> int:
        """Index into `levels` (0 = best) of the level a score falls in."""
        for index, level in enumerate(self.levels):
            if score >= level.min_score:
                return index
        return len(self.levels) - 1


Delta = Annotated[float, Field(ge=-1, le=0, description="a shift of a threshold, from -1 to 0 (stricter only)")]


class LevelThresholds(Frozen):
    """How much lower an author's level puts every category's review and block thresholds."""

    review_delta: Delta = 0.0
    block_delta: Delta = 0.0

    @property
    def stricter(self) -> bool:
        return self.review_delta < 0 or self.block_delta < 0


class MeasuresSettings(Frozen):
    default_points: Points
    weights: dict[CategoryCode, CategoryWeight]
    ladders: Ladders
    credit: CreditSettings
    # Serving users by their level (信用等级): the thresholds a message of an author at that level is judged by
    # are lowered by these deltas; levels not named keep the categories' own.
    level_thresholds: dict[str, LevelThresholds] = Field(default_factory=dict)
    # The measures agent: how often it looks for measures whose time is up, and how long its records are kept
    # (the group and public-account rules keep logs six months).
    tick_interval_s: Annotated[float, seconds(86_400, "between checks (e.g. 60)")] = 60
    # Off only to measure what the moderation agent's check costs (bench/pipeline_bench.py --gate).
    gate: bool = True
    record_months: Annotated[int, Field(ge=6, le=1200, description="months (>= 6) a measure's record is kept")] = 6

    @field_validator("level_thresholds")
    @classmethod
    def _known_levels(cls, value: dict[str, LevelThresholds], info: ValidationInfo) -> dict[str, LevelThresholds]:
        credit = info.data.get("credit")
        if credit is None:  # credit itself failed; its own error says why
            return value
        names = [lv.level for lv in credit.levels]
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ValueError(f"levels of measures.credit.levels ({', '.join(names)}); got {unknown}")
        return value

    def weight(self, category: str, sub_label: str | None = None) -> int:
        entry = self.weights.get(category)
        return self.default_points if entry is None else entry.for_sub_label(sub_label)

    @property
    def horizon_days(self) -> int:
        """How far back anything in a subject's state can still count: the longest window or credit history."""
        windows = [self.ladders.of(t).window_days for t in SubjectType]
        return max(*windows, self.credit.history_days)
