"""``markov-icl docs [NAME]``: where the documentation installed with the package lies (:mod:`markov_icl.docs`)."""

from __future__ import annotations

from markov_icl.errors import MarkovICLError


def register(sub, argv=()) -> None:
    from markov_icl.docs import PAGES

    ap = sub.add_parser("docs", help="print where the installed documentation is (theory, commands, python, ...)",
                        description="Print the path of each documentation page installed with the package (or of "
                                    "page NAME): " + "; ".join(f"{k}: {v}" for k, v in PAGES.items()) + ".")
    ap.add_argument("name", nargs="?", help=f"one of: {', '.join(PAGES)}")
    ap.set_defaults(func=run)


def run(args) -> int:
    from markov_icl.docs import PAGES, path

    if args.name is not None:
        if args.name not in PAGES:
            raise MarkovICLError(f"unknown page {args.name!r}; available: {', '.join(PAGES)}")
        print(path(args.name))
        return 0
    width = max(map(len, PAGES))
    for name, what in PAGES.items():
        print(f"{name:<{width}}  {path(name)}")
        print(f"{'':<{width}}  {what}")
    return 0


__all__ = ["register", "run"]
