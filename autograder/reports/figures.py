"""Matplotlib figures as PNG bytes, drawn once.

``savefig(bbox_inches="tight")`` draws a figure twice (once to measure it, once to save
it). The reports' figures have margins set for their labels, so one drawing is enough:
:func:`png_drawn_once` draws, crops to what the figure shows, and falls back to savefig's
two-pass layout only when something reaches past the figure's edge.
"""

from __future__ import annotations

import io


def png_drawn_once(figure: object, dpi: int) -> bytes:
    """``figure`` as a PNG cropped to what it shows, as savefig(bbox_inches="tight") would
    give it, from one drawing; when something reaches past the figure's edge (a very wide
    tick label), savefig's own two-pass layout is used."""
    import numpy as np
    from matplotlib import image
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    box = figure.get_tightbbox(canvas.get_renderer()).padded(0.1)
    width, height = canvas.get_width_height()
    x0, y0 = int(np.floor(box.x0 * dpi)), int(np.floor(box.y0 * dpi))
    x1, y1 = int(np.ceil(box.x1 * dpi)), int(np.ceil(box.y1 * dpi))
    buffer = io.BytesIO()
    if x0 < 0 or y0 < 0 or x1 > width or y1 > height:
        figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    else:
        pixels = np.asarray(canvas.buffer_rgba())[height - y1 : height - y0, x0:x1]
        image.imsave(buffer, pixels, format="png", dpi=dpi)
    return buffer.getvalue()
