"""The QR code a customer scans to pay by bank: a link to our payer page, as PNG or SVG."""

from __future__ import annotations

import io
import secrets
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
from server.settings import get_settings

RETURN_PATH = "/pay/return"


def new_token() -> str:
    """The secret in a QR's link: a payment id alone opens nothing."""
    return secrets.token_urlsafe(24)


def link_for(payment_id: UUID, token: str) -> str:
    """What the QR code holds: our payer page, on a host the payer's phone can reach."""
    return f"{get_settings().base_url}/pay/{payment_id}?t={token}"


def return_uri() -> str:
    """Where TrueLayer's hosted page sends the payer back to (registered with TrueLayer)."""
    return f"{get_settings().base_url}{RETURN_PATH}"


async def payment_link(*, restaurant_id: UUID, location_id: UUID | None, payment_id: UUID) -> str:
    """The link behind a live QR; a QR past its 15 minutes, or of an ended payment, is gone."""
    async with connection() as conn:
        row = await conn.fetchrow(
            "SELECT method, state, payer_token, expires_at FROM payments WHERE id = $1"
            " AND restaurant_id = $2 AND ($3::uuid IS NULL OR location_id = $3)",
            payment_id,
            restaurant_id,
            location_id,
        )
    if row is None or row["method"] != Method.open_banking:
        raise NotFound("no such pay-by-bank payment")
    live = (
        row["payer_token"] is not None
        and PaymentState(row["state"]) not in ENDINGS
        and row["expires_at"] > datetime.now(UTC)
    )
    if not live:
        raise QrExpired(f"the payment is {row['state']}; offer card or Apple Pay instead")
    return link_for(payment_id, row["payer_token"])


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
