"""Charts drawn on the server as SVG: no script, no external file, no inline style (the CSP stays
strict), in colours and hatching that stay apart in print and in grey. Each chart is a picture of
the table printed beside it, which carries the numbers for everyone."""

from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 280
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 16, 56
# Series: a solid dark blue, then hatched dark orange (both ≥ 3:1 against white, WCAG 1.4.11).
STROKES = ("#1d4f91", "#a63c00")


def _fills(key: str) -> tuple[str, str]:
    return ("#1d4f91", f"url(#hatch-{key})")


def _defs(key: str) -> str:
    # One pattern per chart: ids are unique in the page.
    return (
        f'<defs><pattern id="hatch-{key}" width="6" height="6" patternUnits="userSpaceOnUse"'
        ' patternTransform="rotate(45)"><rect width="6" height="6" fill="#ffffff"/>'
        '<rect width="3" height="6" fill="#a63c00"/></pattern></defs>'
    )


def _scale_top(largest: int) -> tuple[int, int]:
    """A round top for the axis and its step (1, 2 or 5 times a power of ten, at most 5 steps)."""
    if largest <= 0:
        return 1, 1
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            step = factor * magnitude
            if largest <= step * 5:
                return -(-largest // step) * step, step
        magnitude *= 10


def _axis(top: int, step: int) -> list[str]:
    parts = []
    plot_h = HEIGHT - TOP - BOTTOM
    value = 0
    while value <= top:
        y = TOP + plot_h - plot_h * value / top
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"'
            f' stroke="{"#555555" if value == 0 else "#d0d0d0"}" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="12"'
            f' fill="#333333">{value:,}</text>'
        )
        value += step
    return parts


def _labels(labels: Sequence[str], slot: float) -> list[str]:
    """The category axis: every label when they fit, else every k-th one, turned."""
    every = max(1, -(-len(labels) * 70 // (WIDTH - LEFT - RIGHT)))
    parts = []
    for i, label in enumerate(labels):
        if i % every:
            continue
        x = LEFT + slot * (i + 0.5)
        y = HEIGHT - BOTTOM + 16
        parts.append(
            f'<text x="{x:.1f}" y="{y}" font-size="11" fill="#333333" text-anchor="end"'
            f' transform="rotate(-30 {x:.1f} {y})">{escape(label)}</text>'
        )
    return parts


def _legend(names: Sequence[str], key: str) -> str:
    if len(names) < 2:
        return ""
    items = []
    x = LEFT
    for i, name in enumerate(names):
        items.append(
            f'<rect x="{x}" y="{HEIGHT - 14}" width="12" height="12" fill="{_fills(key)[i]}"'
            f' stroke="{STROKES[i]}"/><text x="{x + 16}" y="{HEIGHT - 3}" font-size="12"'
            f' fill="#333333">{escape(name)}</text>'
        )
        x += 24 + 14 * len(name)
    return "".join(items)


def _svg(label: str, body: list[str], key: str) -> Markup:
    # Every text in `body` went through escape(); the rest is numbers and fixed markup.
    return Markup(  # noqa: S704
        f'<svg class="report-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img"'
        f' aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">'
        f"{_defs(key)}{''.join(body)}</svg>"
    )


def bars(
    key: str, label: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[int]]]
) -> Markup:
    """Grouped bars: one group per label, one bar per series (at most two); `key` names the chart
    in the page."""
    largest = max((v for _name, values in series for v in values), default=0)
    top, step = _scale_top(largest)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(labels), 1)
    bar = slot * 0.8 / len(series)
    body = _axis(top, step)
    for s, (_name, values) in enumerate(series):
        for i, value in enumerate(values):
            h = plot_h * value / top
            x = LEFT + slot * i + slot * 0.1 + bar * s
            body.append(
                f'<rect x="{x:.1f}" y="{TOP + plot_h - h:.1f}" width="{bar:.1f}" height="{h:.1f}"'
                f' fill="{_fills(key)[s]}" stroke="{STROKES[s]}" stroke-width="0.5"/>'
            )
    body += _labels(labels, slot)
    body.append(_legend([name for name, _values in series], key))
    return _svg(label, body, key)


def line(key: str, label: str, labels: Sequence[str], values: Sequence[int]) -> Markup:
    """One series as a line with a dot per value."""
    top, step = _scale_top(max(values, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(labels), 1)
    points = [
        (LEFT + slot * (i + 0.5), TOP + plot_h - plot_h * value / top)
        for i, value in enumerate(values)
    ]
    body = _axis(top, step)
    if points:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        body.append(
            f'<polyline points="{path}" fill="none" stroke="{STROKES[0]}" stroke-width="2"/>'
        )
        body += [
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{STROKES[0]}"/>' for x, y in points
        ]
    body += _labels(labels, slot)
    return _svg(label, body, key)


def funnel(
    key: str, label: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[int]]]
) -> Markup:
    """Horizontal grouped bars, a row per step with its name on the left (the steps' names are
    long), one bar per series (at most two), each with its number."""
    names_w, row_h, top_pad = 300, 34, 8
    height = top_pad + row_h * len(labels) + 28
    largest = max((v for _name, values in series for v in values), default=0) or 1
    plot_w = WIDTH - names_w - 70
    bar = (row_h - 10) / len(series)
    body = [
        f'<line x1="{names_w}" x2="{names_w}" y1="{top_pad}" y2="{height - 28}"'
        ' stroke="#555555" stroke-width="1"/>'
    ]
    for i, name in enumerate(labels):
        y = top_pad + row_h * i
        body.append(
            f'<text x="{names_w - 8}" y="{y + row_h / 2 + 4:.1f}" text-anchor="end"'
            f' font-size="12" fill="#333333">{escape(name)}</text>'
        )
        for s, (_series, values) in enumerate(series):
            w = plot_w * values[i] / largest
            by = y + 5 + bar * s
            body.append(
                f'<rect x="{names_w}" y="{by:.1f}" width="{w:.1f}" height="{bar - 1:.1f}"'
                f' fill="{_fills(key)[s]}" stroke="{STROKES[s]}" stroke-width="0.5"/>'
                f'<text x="{names_w + w + 4:.1f}" y="{by + bar - 3:.1f}" font-size="11"'
                f' fill="#333333">{values[i]:,}</text>'
            )
    items, x = [], names_w
    for i, (name, _values) in enumerate(series):
        items.append(
            f'<rect x="{x}" y="{height - 16}" width="12" height="12" fill="{_fills(key)[i]}"'
            f' stroke="{STROKES[i]}"/><text x="{x + 16}" y="{height - 5}" font-size="12"'
            f' fill="#333333">{escape(name)}</text>'
        )
        x += 24 + 14 * len(name)
    body += items
    return Markup(  # noqa: S704 (every text went through escape(); the rest is numbers)
        f'<svg class="report-chart" viewBox="0 0 {WIDTH} {height}" role="img"'
        f' aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">'
        f"{_defs(key)}{''.join(body)}</svg>"
    )
