"""Write tests/models/golden.json from the current code: ``python tests/models/make_golden.py``.

Run it only when a change of numbers is intended, and say why in the commit message."""

import json
import os
import sys

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))  # the repository root

from golden import CASES, compute  # noqa: E402

import tf_lsrec  # noqa: E402,F401

PATH = os.path.join(HERE, "golden.json")


def main() -> None:
    values = {}
    for case, model_type, overrides in CASES:
        values[case] = compute(model_type, overrides)
        print(case, {k: v for k, v in values[case].items() if k != "scores"})
    with open(PATH, "w", encoding="utf-8") as f:
        json.dump(values, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
