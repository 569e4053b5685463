"""``bayes-agent lecture``: the do-operator as a local web app (three pages), or a static handout.

Needs the ``lecture`` extra (Panel). Serves on 127.0.0.1 at a free port unless told otherwise;
Ctrl-C stops it. ``--export DIR`` writes a static handout (``DIR/index.html`` and one page each).
"""

from __future__ import annotations

import argparse
import sys

HELP = "the do-operator as a live lecture in the browser (--export DIR: a static handout)"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "lecture", help=HELP,
        description="Serve three live pages: §4's two-action example with editable rationals and "
        "gates, seeing vs doing on the fire-engine and ice-cream models, and the delusion simulator. "
        "Needs the lecture extra: pip install 'bayes-agent[lecture]'.")
    p.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port to listen on (default: a free one)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser tab")
    p.add_argument("--export", metavar="DIR",
                   help="write a static handout into DIR (index.html and one self-contained page each) "
                   "instead of serving")
    p.add_argument("--overwrite", action="store_true", help="with --export: replace an earlier handout in DIR")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import InvalidArgument
    from ..lecture import export_handout, serve
    from ._common import prepare_out_dir
    from ._common import nothing_new_left

    if args.export is None and args.overwrite:
        raise InvalidArgument("--overwrite only applies with --export DIR (serving writes no files)")
    if args.export is not None:
        serving = [flag for flag, given in (("--host", args.host is not None), ("--port", args.port is not None),
                                            ("--no-browser", args.no_browser)) if given]
        if serving:
            raise InvalidArgument(f"{', '.join(serving)} only appl{'y' if len(serving) > 1 else 'ies'} when "
                                  f"serving; --export writes the handout and serves nothing")
        from ..lecture.app import PAGES

        names = ["index.html", *(f"{n}.html" for n in PAGES)]
        out = prepare_out_dir(args.export, overwrite=args.overwrite, writes=names, option="--export", create=False)
        with nothing_new_left(out, names, "the handout"):  # stopped part-way: no half handout left
            paths = export_handout(out)
        print(f"bayes-agent lecture: wrote {', '.join(p.name for p in paths)} into {out}")
        return 0
    try:
        serve(args.host or "127.0.0.1", args.port, open_browser=not args.no_browser,
              announce=lambda line: print(line, flush=True))
    except KeyboardInterrupt:  # Ctrl-C outside the server's own loop (which stops itself and returns)
        pass
    print("bayes-agent lecture: stopped", file=sys.stderr)
    return 0
