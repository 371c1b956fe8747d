"""``python -m acdc_bench.artefacts [list|make]``: the catalogue of paper artefacts (``make
list``), or the text of ``make/artefacts.mk`` (``make``), without composing a config."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    what = argv[0] if argv else "list"
    if what == "make":
        from acdc_bench.artefacts import ARTEFACTS
        from acdc_bench.artefacts.makefile import makefile_text

        sys.stdout.write(makefile_text(ARTEFACTS))
    elif what == "list":
        from acdc_bench.reports.catalogue import catalogue

        sys.stdout.write(catalogue(argv[1] if len(argv) > 1 else "results"))
    else:
        print(f"python -m acdc_bench.artefacts: {what!r} is not list or make", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
