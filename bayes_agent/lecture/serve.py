"""Start the lecture app on a local port, or write it as one static HTML handout.

The port is checked before anything starts, so a busy port costs one line, not a traceback.
"""

from __future__ import annotations

import errno
import html
import socket
from pathlib import Path
from typing import Callable, Sequence

from .. import InvalidArgument

__all__ = ["EXTRA_HINT", "check_port", "export_handout", "free_port", "serve"]

EXTRA_HINT = "the lecture app needs Panel: pip install 'bayes-agent[lecture]'"


def _panel():
    try:
        import panel
    except ImportError:
        raise InvalidArgument(EXTRA_HINT) from None
    return panel


def free_port(host: str = "127.0.0.1") -> int:
    """A port on ``host`` that nothing listens on right now (the OS picks it)."""
    return _bind(host, 0)


def check_port(host: str, port: int) -> None:
    """Raise one clear line if ``host:port`` cannot be listened on (busy, or an address not ours)."""
    if not 0 < port < 65536:
        raise InvalidArgument(f"--port {port} is not a port number (1-65535)")
    _bind(host, port)


def _bind(host: str, port: int) -> int:
    """Bind ``host:port`` (0: any free port) and release it; a failure is one line naming the
    option at fault: --port when the port is busy, --host when the address is not this machine's."""
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise InvalidArgument(f"port {port} on {host} is busy; choose another with --port N "
                                      f"(or leave --port out for a free one)") from None
            not_ours = isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL
            hint = " (--host must be an address of this machine, e.g. 127.0.0.1 or 0.0.0.0)" if not_ours else ""
            raise InvalidArgument(f"cannot listen on --host {host}{f' --port {port}' if port else ''}: "
                                  f"{exc.strerror or exc}{hint}") from None
        return s.getsockname()[1]


def serve(host: str = "127.0.0.1", port: int | None = None, *, open_browser: bool = True,
          announce: Callable[[str], None] = print) -> None:
    """Serve the three pages until Ctrl-C (the caller turns the KeyboardInterrupt into one line)."""
    port = free_port(host) if port is None else port
    check_port(host, port)
    pn = _panel()
    from .app import TITLE, build_app

    shown = "localhost" if host in ("127.0.0.1", "::1") else host
    server = pn.serve({"/": build_app}, port=port, address=host, show=False, start=False, title=TITLE,
                      verbose=False, websocket_origin=[f"{host}:{port}", f"{shown}:{port}"])
    url = f"http://{host}:{port}/"
    announce(f"bayes-agent lecture: serving {url} (Ctrl-C stops it)")
    if open_browser:
        import webbrowser

        server.io_loop.add_callback(lambda: webbrowser.open(url))
    server.start()
    try:
        server.io_loop.start()
    finally:
        server.stop()


def _player_states(page) -> dict:
    """Every value of each player on ``page``, its end included: Panel's own embed records
    ``range(start, end)``, so the last slot (the run's end, with its lock message) went missing."""
    from panel.widgets import Player

    return {p: list(range(p.start, p.end + 1, p.step)) for p in page.select(Player)}


def export_handout(directory: str | Path, pages: Sequence[str] | None = None) -> list[Path]:
    """Write the handout into ``directory``: ``index.html`` and one self-contained HTML file per page.

    Panel's own export (``save(embed=True)`` with inline resources) records every state of each
    page's toggles, radio buttons, climate slider and player, so those work offline; typed fields
    are fixed at the paper's values. Pages are separate files because embedded states multiply.
    """
    _panel()
    from bokeh.resources import INLINE

    from .app import PAGES, TITLE, build_handout_page

    names = list(PAGES) if pages is None else list(pages)
    unknown = sorted(set(names) - set(PAGES))
    if unknown:
        raise InvalidArgument(f"unknown handout page(s) {unknown}; choose from {sorted(PAGES)}")
    out = Path(directory)
    written, titles = [], []
    for name in names:
        page = build_handout_page(name)
        titles.append(page.name)
        path = out / f"{name}.html"
        page.save(str(path), embed=True, resources=INLINE, title=f"{TITLE}: {page.name}", max_states=200,
                  max_opts=64, progress=False, embed_states=_player_states(page))
        written.append(path)
    links = "".join(f'<li><a href="{p.name}">{html.escape(t)}</a></li>' for p, t in zip(written, titles))
    index = out / "index.html"
    index.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{TITLE}</title></head><body>"
                     f"<h1>{TITLE}</h1><p>A static handout of <code>bayes-agent lecture</code>: the buttons, the "
                     f"climate slider and the player work offline; the typed numbers are fixed at the paper's "
                     f"values (run the app to edit them).</p><ul>{links}</ul></body></html>", encoding="utf-8")
    return [index, *written]
