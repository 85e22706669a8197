from __future__ import annotations

from pathlib import Path

import pytest

from pxr import PolicyError, Severity, load_policy
from pxr.compensation import Refund
from pxr.errors import UnknownKindError, ValidationError

from .conftest import EXAMPLES, PARCEL, policy_from


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_design_md_example_loads() -> None:
    policy = load_policy(EXAMPLES / "parcel" / "policy.toml")
    assert [r.threshold.name for r in policy.rules] == ["parcel-late", "support-wait", "survey-low"]
    assert policy.limits.messages_per_day == 3
    assert str(policy.limits.compensation_per_30_days) == "200.00 PLN"
    assert [s.name for s in policy.stages] == ["checkout", "delivery", "aftercare"]
    rule = policy.rule("parcel-late")
    assert rule is not None
    assert isinstance(rule.compensation[Severity.MAJOR][0], Refund)


def test_error_names_file_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, PARCEL.replace("major = 24,", 'major = "a day",'))
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert caught.value.where == "thresholds[0].above.major"
    assert str(caught.value) == f"{path}: thresholds[0].above.major: expected a number, got 'a day'"


def test_toml_syntax_error_keeps_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "[recovery\nlocale = 'en'\n")
    with pytest.raises(PolicyError, match=r"line 1"):
        load_policy(path)


def test_missing_file_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("change", "where", "problem"),
    [
        (('currency = "PLN"', 'currency = "XYZ"'), "recovery.currency", "unknown currency"),
        (
            ('channels = ["sms", "email"]', 'channels = ["pigeon"]'),
            "recovery.channels[0]",
            "unknown channel",
        ),
        (
            ('kind = "apology"', 'kind = "hug"'),
            "thresholds[0].compensation.minor.kind",
            "unknown compensation kind",
        ),
        (('unit = "hours"', 'unit = "fortnights"'), "thresholds[0].unit", "expected one of"),
        (
            ("percent = 10,", "percent = 150,"),
            "thresholds[0].compensation.major.percent",
            "percentage",
        ),
        (('max = "50.00"', "max = 50.5"), "thresholds[0].compensation.major.max", "as a string"),
        (("minor = 1,", "minor = 30,"), "thresholds[0].above", "must increase"),
        (('name = "parcel-late"', 'nmae = "parcel-late"'), "thresholds[0]", "unknown key 'nmae'"),
    ],
)
def test_each_bad_value_is_located(change: tuple[str, str], where: str, problem: str) -> None:
    with pytest.raises(ValidationError) as caught:
        policy_from(PARCEL.replace(*change))
    assert caught.value.where == where
    assert problem in caught.value.problem


def test_unknown_kind_is_its_own_error_type() -> None:
    with pytest.raises(UnknownKindError):
        policy_from(PARCEL.replace('kind = "apology"', 'kind = "hug"'))


def test_holdout_is_refused_for_statutory_compensation() -> None:
    text = """
    [[thresholds]]
    name = "flight-late"
    metric = "arrival_delay"
    unit = "minutes"
    above = { major = 180 }
    holdout = 0.05
    compensation.major = { kind = "eu261" }
    """
    with pytest.raises(ValidationError, match="refused for statutory") as caught:
        policy_from(text)
    assert caught.value.where == "thresholds[0].holdout"


def test_stage_must_be_declared_when_stages_are_given() -> None:
    text = (
        '[[stages]]\nname = "checkout"\n'
        + PARCEL.split("[recovery]")[0]
        + PARCEL.split('channels = ["sms", "email"]')[1]
    )
    with pytest.raises(ValidationError, match="not one of the"):
        policy_from(text)


def test_several_compensations_for_one_severity() -> None:
    policy = load_policy(EXAMPLES / "flight" / "policy.toml")
    rule = policy.rules[0]
    assert [p.kind for p in rule.compensation[Severity.MAJOR]] == ["eu261", "gift"]


def test_same_kind_twice_in_one_tier_is_refused() -> None:
    text = PARCEL.replace(
        'compensation.minor = { kind = "apology" }',
        'compensation.minor = [{ kind = "apology" }, { kind = "apology" }]',
    )
    with pytest.raises(ValidationError, match="given twice") as caught:
        policy_from(text)
    assert caught.value.where == "thresholds[0].compensation.minor[1]"
