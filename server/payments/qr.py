"""The QR code a customer scans to pay by bank: the payment link, as PNG or SVG."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from uuid import UUID

import qrcode
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_M

from server.db.engine import connection
from server.errors import NotFound
from server.payments.errors import QrExpired
from server.payments.fees import Method
from server.payments.states import ENDINGS, PaymentState


async def payment_link(*, restaurant_id: UUID, location_id: UUID | None, payment_id: UUID) -> str:
    """The link behind a live QR; a QR past its 15 minutes, or of an ended payment, is gone."""
    async with connection() as conn:
        row = await conn.fetchrow(
            "SELECT method, state, link, expires_at FROM payments WHERE id = $1"
            " AND restaurant_id = $2 AND ($3::uuid IS NULL OR location_id = $3)",
            payment_id,
            restaurant_id,
            location_id,
        )
    if row is None or row["method"] != Method.open_banking:
        raise NotFound("no such pay-by-bank payment")
    live = (
        row["link"] is not None
        and PaymentState(row["state"]) not in ENDINGS
        and row["expires_at"] > datetime.now(UTC)
    )
    if not live:
        raise QrExpired(f"the payment is {row['state']}; offer card or Apple Pay instead")
    link: str = row["link"]
    return link


def _code(link: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=10, border=4)
    code.add_data(link)
    code.make(fit=True)
    return code


def png(link: str) -> bytes:
    out = io.BytesIO()
    _code(link).make_image().save(out)
    return out.getvalue()


def svg(link: str) -> bytes:
    image = _code(link).make_image(image_factory=qrcode.image.svg.SvgPathImage)
    rendered: bytes = image.to_string(encoding="unicode").encode()
    return rendered
