"""Hypothesis strategies for hostile input: bad policies, events lines and API arguments.

Shared by the fast fuzz tests (tests/test_fuzz.py) and the deeper run that
``scripts/fuzz.py`` drives with more examples. The values are the kinds that
once crashed pxr (issue 16): deep nesting, huge and non-finite numbers,
far-away times, lists where names belong.
"""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import strategies as st

EXAMPLES = Path(__file__).parent.parent / "examples"
PARCEL_POLICY = (EXAMPLES / "parcel" / "policy.toml").read_text(encoding="utf-8")
FLIGHT_POLICY = (EXAMPLES / "flight" / "policy.toml").read_text(encoding="utf-8")
PARCEL_EVENTS = (EXAMPLES / "parcel" / "events.jsonl").read_text(encoding="utf-8").splitlines()
FLIGHT_EVENTS = (EXAMPLES / "flight" / "events.jsonl").read_text(encoding="utf-8").splitlines()

#: JSON values that once crashed pxr somewhere, or come close to a limit.
HOSTILE_JSON_VALUES: list[object] = [
    None,
    True,
    0,
    -1,
    2**31,
    2**63,
    10**30,
    -(10**30),
    1e308,
    -1e308,
    1e-308,
    "",
    " ",
    "x" * 10_000,
    "1e400",
    "-1e400",
    "NaN",
    "Infinity",
    "9" * 5000,
    "99999999999d",
    "999999999999999h",
    "P99999999999D",
    "PT1e9H",
    "1970-01-01T00:00:00+00:00",
    "0001-01-01T00:00:00+00:00",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59+00:00",
    "9999-12-31T23:59:59-14:00",
    "2026-03-02T10:00:00",
    "2026-03-02T10:00:00+23:59",
    "+48512345678",
    "anna.k@example.pl",
    "Europe/Warsaw",
    "../../etc/passwd",
    "pl-PL",
    "\x00",
    "\ud800",
    [],
    ["sms", 1],
    [["sms"]],
    {},
    {"a": {"b": {"c": 1}}},
    {"order_total": "1e999999", "currency": "PLN"},
    {"order_total": 1e308, "currency": "PLN"},
    {"order_total": "NaN", "currency": "PLN"},
    {"order_total": "9" * 5000, "currency": "PLN"},
    {"distance_km": 1e308},
    {"distance_km": "inf"},
    {"origin": [1e308, 1e308], "destination": [0, 0]},
    {"origin": ["a", []], "destination": [0, 0]},
    {"currency": ["PLN"]},
]

#: Raw JSON texts that ``json.dumps`` cannot make: non-finite numbers, huge numbers, depth.
HOSTILE_JSON_TEXTS = [
    "NaN",
    "Infinity",
    "-Infinity",
    "1e999999",
    "-1e999999",
    "1" + "0" * 5000,
    "0." + "1" * 5000,
    "[" * 100_000 + "]" * 100_000,
    '{"a":' * 50_000 + "1" + "}" * 50_000,
]


def _json_value() -> st.SearchStrategy[str]:
    """A JSON text for one value: a hostile one, or a small generated one."""
    small = st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=20),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
        ),
        max_leaves=6,
    )
    return st.one_of(
        st.sampled_from(HOSTILE_JSON_VALUES).map(json.dumps),
        st.sampled_from(HOSTILE_JSON_TEXTS),
        small.map(json.dumps),
    )


@st.composite
def events_lines(draw: st.DrawFn) -> str:
    """A line of an example events file with one value replaced by a hostile one."""
    line = draw(st.sampled_from(PARCEL_EVENTS + FLIGHT_EVENTS))
    data = json.loads(line)
    key = draw(st.sampled_from([*sorted(data), "unknown_key"]))
    replacement = draw(_json_value())
    data[key] = "\x00REPLACE\x00"
    return json.dumps(data, ensure_ascii=False).replace('"\\u0000REPLACE\\u0000"', replacement)


#: TOML value texts that once crashed pxr or come close to a limit.
HOSTILE_TOML_VALUES = [
    "inf",
    "-inf",
    "nan",
    "1e308",
    "-1e308",
    "9223372036854775807",
    "-9223372036854775808",
    "2147483648",
    "999999999999",
    "0",
    "-1",
    "1.5",
    '""',
    '" "',
    '"' + "x" * 10_000 + '"',
    '"1e999999"',
    '"NaN"',
    '"Infinity"',
    '"' + "9" * 5000 + '"',
    '"sNaN"',
    '"99999999999d"',
    '"P99999999999D"',
    '"25:00"',
    '"+48512345678"',
    '"anna.k@example.pl"',
    "true",
    "[]",
    "[1, 2]",
    '["sms", 1]',
    '[["sms"]]',
    "{}",
    "{ a = { b = 1 } }",
    "1979-05-27T07:32:00Z",
    "9" * 5000,
    "1979-05-27",
    "07:32:00",
    "{ en = 1 }",
    '{ en = "" }',
    '{ xx = "a" }',
    '"0"',
    '"-5"',
    '"100"',
    '"0.001"',
    '"1e-40"',
    "1e-30",
    "0.0001",
    '"1d"',
    '"0s"',
    '"00:00"',
    '"23:59:59.999999"',
    '"apology"',
    '"voucher"',
    '"contact"',
    '"order_total"',
    '"EUR"',
    '"JPY"',
    '"BHD"',
    '"XXX"',
    "[" * 5000 + "]" * 5000,
    "{ a = " * 3000 + "1" + " }" * 3000,
]


@st.composite
def policy_texts(draw: st.DrawFn, base: str | None = None) -> str:
    """An example policy (``base``, else either) with one ``key = value`` line's value replaced."""
    text = base or draw(st.sampled_from([PARCEL_POLICY, FLIGHT_POLICY]))
    lines = text.splitlines()
    candidates = [
        i for i, line in enumerate(lines) if "=" in line and not line.lstrip().startswith("#")
    ]
    index = draw(st.sampled_from(candidates))
    key = lines[index].split("=", 1)[0]
    value = draw(st.sampled_from(HOSTILE_TOML_VALUES))
    lines[index] = f"{key}= {value}"
    return "\n".join(lines) + "\n"


#: Arguments for ``Signal``/``Customer`` and the engine's public calls.
api_values = st.sampled_from([*HOSTILE_JSON_VALUES, float("inf"), float("nan"), 10**5000])
