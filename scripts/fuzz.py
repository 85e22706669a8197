"""The deeper fuzz run: tests/test_fuzz.py with many more examples.

    python scripts/fuzz.py              # the CI budget (PXR_FUZZ_EXAMPLES, default 600)
    PXR_FUZZ_EXAMPLES=20000 python scripts/fuzz.py

The budget is a number of examples per test, not a time, so a run is
reproducible in size; on two cores the CI budget takes about a minute.
Hypothesis keeps any failing example in ``.hypothesis/`` and replays it
first next time; turn each into a case in tests/test_bad_input.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_EXAMPLES = 600


def main() -> int:
    """Run the fuzz tests with the budget from ``PXR_FUZZ_EXAMPLES``; return pytest's status."""
    env = dict(os.environ)
    env.setdefault("PXR_FUZZ_EXAMPLES", str(DEFAULT_EXAMPLES))
    print(f"fuzz: {env['PXR_FUZZ_EXAMPLES']} examples per test", flush=True)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_fuzz.py"]
    return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode  # noqa: S603


if __name__ == "__main__":
    raise SystemExit(main())
