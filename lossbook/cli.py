"""The ``lossbook`` command. One sub-command so far: ``lossbook grade`` (for instructors).

Run ``lossbook grade --help`` for its options; the "For instructors" page of the book walks
through a whole grading round.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``lossbook`` console script."""
    parser = argparse.ArgumentParser(prog="lossbook", description="lossbook course tools")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    grade = commands.add_parser(
        "grade", help="collect, autograde (sandboxed, in parallel), feedback and export",
        description="Grade one assignment with nbgrader: collect the submissions (an LMS zip "
                    "export in downloaded/<assignment>/archive/, a folder given with --from, or "
                    "what is already in submitted/), autograde every new or changed one in the "
                    "sandbox, in parallel, write feedback and export the grades to CSV.")
    from .grading.cli import add_arguments

    add_arguments(grade)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    from .grading.cli import run

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
