"""Matplotlib figures as PNG bytes, drawn once.

``savefig(bbox_inches="tight")`` draws a figure twice (once to measure it, once to save
it), and asking the figure for its tight box lays every tick label out a second time. The
reports' figures have margins set for their labels, so one drawing is enough:
:func:`png_drawn_once` draws, crops the pixels to what was drawn on the background, and
falls back to savefig's two-pass layout only when something touches the figure's edge
(and may reach past it: a very wide tick label).
"""

from __future__ import annotations

import io

_PAD_INCHES = 0.1  # savefig's pad_inches, around what the figure shows


def png_drawn_once(figure: object, dpi: int) -> bytes:
    """``figure`` as a PNG cropped to what it shows, as savefig(bbox_inches="tight") would
    give it, from one drawing; when something touches the figure's edge, savefig's own
    two-pass layout is used."""
    import numpy as np
    from matplotlib import image
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    pixels = np.asarray(canvas.buffer_rgba())
    drawn = np.any(pixels != pixels[0, 0], axis=2)  # a corner shows the background
    rows, columns = np.flatnonzero(drawn.any(axis=1)), np.flatnonzero(drawn.any(axis=0))
    buffer = io.BytesIO()
    height, width = drawn.shape
    if (not rows.size or rows[0] == 0 or columns[0] == 0 or rows[-1] == height - 1
            or columns[-1] == width - 1):
        figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
        return buffer.getvalue()
    pad = round(_PAD_INCHES * dpi)
    top, bottom = max(rows[0] - pad, 0), min(rows[-1] + 1 + pad, height)
    left, right = max(columns[0] - pad, 0), min(columns[-1] + 1 + pad, width)
    image.imsave(buffer, pixels[top:bottom, left:right], format="png", dpi=dpi)
    return buffer.getvalue()
