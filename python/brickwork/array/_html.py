"""The notebook display of an array: dask's table (bytes, shape, chunks, tasks, dtype for
the array and one chunk) beside a drawing of its chunk grid."""

from __future__ import annotations

import html


def _bytes(n: int) -> str:
    for unit in ("B", "kiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.2f} {unit}" if unit != "B" else f"{n} B"
        n /= 1024
    return f"{n} B"


def _lines(sizes, length: float) -> list:
    """Positions of the chunk boundaries along an axis drawn ``length`` pixels long (at
    most 50 lines: more are drawn as a band)."""
    total = sum(sizes) or 1
    step = max(1, len(sizes) // 50)
    pos, out = 0, [0.0]
    for i, s in enumerate(sizes):
        pos += s
        if (i + 1) % step == 0 or i == len(sizes) - 1:
            out.append(length * pos / total)
    return out


def grid_svg(chunks, size: float = 120.0) -> str:
    """An SVG of the last two axes' chunk grid (one axis: a strip)."""
    if not chunks:
        return ""
    rows = chunks[-2] if len(chunks) >= 2 else (1,)
    cols = chunks[-1]
    h_total, w_total = (sum(rows) or 1), (sum(cols) or 1)
    scale = size / max(h_total, w_total)
    width = max(w_total * scale, 10)
    height = max(h_total * scale, 10) if len(chunks) >= 2 else 25
    parts = [f'<svg width="{width + 20:.0f}" height="{height + 20:.0f}" style="stroke:rgb(0,0,0);stroke-width:1">']
    for y in _lines(rows, height):
        parts.append(f'<line x1="10" y1="{y + 10:.1f}" x2="{width + 10:.1f}" y2="{y + 10:.1f}" />')
    for x in _lines(cols, width):
        parts.append(f'<line x1="{x + 10:.1f}" y1="10" x2="{x + 10:.1f}" y2="{height + 10:.1f}" />')
    parts.append(
        f'<polygon points="10,10 {width + 10:.1f},10 {width + 10:.1f},{height + 10:.1f} 10,{height + 10:.1f}" '
        'style="fill:#ECB172A0;stroke-width:0"/>'
    )
    parts.append("</svg>")
    return "".join(parts)


def array_html(x) -> str:
    """dask's table and drawing for ``x``."""
    chunk_bytes = x.itemsize
    for c in x.chunksize:
        chunk_bytes *= c
    try:
        _, tasks, stages = x._a.task_counts()
        graph = f"{tasks} tasks in {stages} stages"
    except Exception as e:  # an array holding an error still displays
        graph = html.escape(str(e))
    rows = [
        ("Bytes", _bytes(x.nbytes), _bytes(chunk_bytes)),
        ("Shape", x.shape, x.chunksize),
        ("Chunks", f"{x.npartitions} chunks in {x.ndim} axes" if x.ndim else "1 chunk", ""),
        ("Graph", graph, ""),
        ("Data type", f"{x.dtype} numpy.ndarray", ""),
    ]
    body = "".join(
        f"<tr><th>{k}</th><td>{html.escape(str(a))}</td><td>{html.escape(str(b))}</td></tr>"
        for k, a, b in rows
    )
    table = (
        '<table><thead><tr><td></td><th>Array</th><th>Chunk</th></tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )
    return (
        f'<table><tr><td>{table}</td><td>{grid_svg(x.chunks)}</td></tr></table>'
        f"<p>brickwork.array&lt;{html.escape(x.name)}&gt;</p>"
    )
