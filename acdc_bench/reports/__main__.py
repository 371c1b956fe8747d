"""``python -m acdc_bench.reports SWEEP_DIR [--results DIR] [--name NAME]``: the report without Hydra.

The same as ``acdc-bench task=report sweep_dir=SWEEP_DIR``, for scripts and quick looks.
"""

from __future__ import annotations

import argparse
import sys

from acdc_bench.reports import exit_status, make_report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m acdc_bench.reports", description=__doc__.splitlines()[0])
    p.add_argument("sweep_dir", help="a Hydra multirun directory")
    p.add_argument("--results", default="results", help="write to RESULTS/<experiment>/ (default: results)")
    p.add_argument("--name", default=None, help="the experiment name (default: the config's report.name)")
    args = p.parse_args(argv)

    def report() -> int:
        print(make_report(args.sweep_dir, args.results, args.name) / "table.md")
        return 0

    return exit_status(report)


if __name__ == "__main__":
    sys.exit(main())
