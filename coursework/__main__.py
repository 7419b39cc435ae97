"""``python -m coursework {release,grade,validate,student-site}``: see :mod:`coursework`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coursework", description=__doc__.split(":")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    release = commands.add_parser("release", help="write the student notebooks and the manifest")
    release.add_argument("assignment", type=Path)
    release.add_argument("--out", type=Path, required=True)

    grade = commands.add_parser("grade", help="grade SUBMISSIONS/STUDENT/NAME.ipynb")
    grade.add_argument("assignment", type=Path)
    grade.add_argument("submissions", type=Path)
    grade.add_argument("--out", type=Path, required=True)
    grade.add_argument("--jobs", type=int, default=1, help="submissions graded at once (default 1)")
    grade.add_argument(
        "--only", default="", help="comma-separated students to regrade; others are kept"
    )

    validate = commands.add_parser(
        "validate", help="check the grader on the reference, stubs and fixtures"
    )
    validate.add_argument("assignment", type=Path)
    validate.add_argument("--jobs", type=int, default=2)

    site = commands.add_parser(
        "student-site", help="build the book without solutions, then leak-check it"
    )
    site.add_argument("--out", type=Path, required=True)

    args = parser.parse_args(argv)
    from coursework import assignment as assignments
    from coursework.assignment import AssignmentError
    from coursework.leaks import LeakError

    try:
        if args.command == "student-site":
            from coursework.site import build_student_site

            html = build_student_site(args.out)
            print(f"The student site is at {html / 'index.html'}")
            return 0
        assignment = assignments.load(args.assignment)
        if args.command == "release":
            from coursework.release import release as run_release

            data = run_release(assignment, args.out)
            for nb in data["notebooks"]:
                print(args.out / "student" / nb["file"])
            print(args.out / "manifest.json", f"({data['max_points']} points, no leak found)")
        elif args.command == "grade":
            from coursework.grade import grade as run_grade

            if args.jobs < 1:
                parser.error(f"--jobs must be at least 1, got {args.jobs}")
            only = [s for s in args.only.split(",") if s] or None
            results = run_grade(assignment, args.submissions, args.out, jobs=args.jobs, only=only)
            print(f"{len(results)} students in {args.out / 'grades.csv'}")
            errors = [r["student"] for r in results if r["status"] == "grader-error"]
            if errors:
                print(
                    f"the grader could not run: {', '.join(errors)} (see their results)",
                    file=sys.stderr,
                )
                return 1
        elif args.command == "validate":
            from coursework.validate import validate as run_validate

            problems = run_validate(assignment, jobs=args.jobs)
            if problems:
                print("validate FAILED:\n" + "\n".join(problems), file=sys.stderr)
                return 1
            print(
                "validate passed: reference at the maximum, stubs at 0, fixtures as expected, "
                "two gradings identical"
            )
    except (AssignmentError, LeakError, FileNotFoundError, ValueError, RuntimeError) as e:
        print(f"coursework {args.command}: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
