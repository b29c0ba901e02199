"""The Teams app's two icons, drawn with Pillow from the logo's shapes (static/img/logo.svg).

Teams wants a 192×192 colour icon (the symbol inside the central 120×120 px, the background filling
the square: Teams rounds the corners itself) and a 32×32 outline icon that is pure white on
transparent. Both are drawn large and scaled down, which gives smooth edges; the outline icon keeps
its shape in the alpha channel only, so every pixel stays white.
"""

import io

from PIL import Image, ImageDraw

BRAND_COLOR = "#4f52ba"
WHITE = (255, 255, 255)

# The logo's ticket in its 64×64 view box: body, round notches on both sides, perforation, check mark.
TICKET_BOX = (14, 18, 50, 46)
TICKET_RADIUS = 4
NOTCH_RADIUS = 5
NOTCH_CENTRES = ((14, 32), (50, 32))
PERFORATION_X = 38
PERFORATION_DASHES = ((20, 23), (26, 29), (32, 35), (38, 41))
PERFORATION_WIDTH = 2.5
CHECK_POINTS = ((22, 32.5), (26, 36.5), (33.5, 28.5))
CHECK_WIDTH = 3.5


def _ticket_mask(size: int, *, scale: float, supersample: int, perforation: bool) -> Image.Image:
    """The ticket as an 8-bit mask (255 = ticket), centred in a square of ``size`` pixels.

    ``scale`` is pixels per logo unit in the final image; drawing happens ``supersample`` times
    larger and is box-averaged down, so edges come out anti-aliased.
    """
    big = size * supersample
    factor = scale * supersample
    offset = big / 2 - 32 * factor  # the logo's centre (32, 32) lands on the image's centre

    def at(x: float, y: float) -> tuple[float, float]:
        return (offset + x * factor, offset + y * factor)

    mask = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(mask)
    left, top, right, bottom = TICKET_BOX
    draw.rounded_rectangle((*at(left, top), *at(right, bottom)), radius=TICKET_RADIUS * factor, fill=255)
    for cx, cy in NOTCH_CENTRES:
        draw.ellipse((*at(cx - NOTCH_RADIUS, cy - NOTCH_RADIUS), *at(cx + NOTCH_RADIUS, cy + NOTCH_RADIUS)), fill=0)
    if perforation:
        half = PERFORATION_WIDTH / 2
        for y0, y1 in PERFORATION_DASHES:
            draw.rectangle((*at(PERFORATION_X - half, y0), *at(PERFORATION_X + half, y1)), fill=0)
    # A polyline with round caps and joins, like the SVG's stroke-linecap/linejoin="round".
    points = [at(x, y) for x, y in CHECK_POINTS]
    width = CHECK_WIDTH * factor
    draw.line(points, fill=0, width=round(width), joint="curve")
    for x, y in (points[0], points[-1]):
        draw.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=0)
    return mask.reduce(supersample)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def color_icon() -> bytes:
    """192×192 PNG: the white ticket with its check mark on the brand colour."""
    size = 192
    mask = _ticket_mask(size, scale=3, supersample=4, perforation=True)
    background = Image.new("RGB", (size, size), BRAND_COLOR)
    return _png(Image.composite(Image.new("RGB", (size, size), WHITE), background, mask))


def outline_icon() -> bytes:
    """32×32 PNG: the ticket in white on transparent, the check mark cut out."""
    size = 32
    # 30 px wide; the perforation would only be noise at this size.
    mask = _ticket_mask(size, scale=30 / 36, supersample=8, perforation=False)
    icon = Image.new("RGBA", (size, size), (*WHITE, 0))
    icon.putalpha(mask)
    return _png(icon)
