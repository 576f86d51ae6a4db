"""The back office's pages: HTML over the services the API's sync and payment routes call.

Each route declares its permission with ``allow`` like an API route; the app's
``authenticate`` and ``authorize`` guards check it against the session (``session.py``). A form
handler checks its CSRF token, calls the service the API route calls, and redirects (303) back
to its list; ``AuditMiddleware`` records it under the API handler's name.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from server.auth import ratelimit, services, sessions
from server.auth.dependencies import PUBLIC, allow
from server.auth.permissions import Permission
from server.auth.schemas import LoginRequest
from server.auth.tokens import Caller
from server.devices import services as devices
from server.errors import NotAuthenticated, RateLimited, ValidationFailed
from server.office import charts, filters, session, views
from server.office.rendering import Req, form_field, render
from server.pagination import decode_id_cursor
from server.payments import attention, reconcile_runs
from server.payments.errors import NothingToAcknowledge
from server.realtime.hub import Hub
from server.settings import get_settings
from server.sync import activity, device_status, lag, remedies, reports
from server.sync.reports import CONFLICT_STATES, QUARANTINE_STATES

LIST_LIMIT = 100


async def _back(request: Req, path: str) -> Redirect:
    """303 to the list ``path`` as the form's page showed it (its filters and page)."""
    return Redirect(filters.back(await form_field(request, "back"), path), status_code=303)


class OfficeController(Controller):
    path = "/"
    include_in_schema = False

    @get("/", opt=allow(Permission.sync_view))
    async def home(self) -> Redirect:
        return Redirect(f"{session.PREFIX}/devices", status_code=303)

    # --- signing in and out -----------------------------------------------------------------

    @get("/login", opt=PUBLIC)
    async def login_form(self, request: Req) -> Template:
        page = render(request, "login.html", None, error=None, email="")
        if not request.cookies.get(session.CSRF_COOKIE):
            csrf = session.new_csrf_cookie()
            page.context["csrf"] = csrf.value
            page.cookies.append(csrf)
        return page

    @post("/login", opt=PUBLIC, status_code=303)
    async def login(self, request: Req) -> Template | Redirect:
        await session.require_csrf(request)
        email, password = await form_field(request, "email"), await form_field(request, "password")
        limiter: ratelimit.RateLimiter = request.app.state.limiter
        address = ratelimit.client_address(request)
        try:
            await limiter.hit(ratelimit.LOGIN_PER_CLIENT, address)
            if not email or not password:
                raise NotAuthenticated("email or password is wrong")
            pair = await services.login(
                body=LoginRequest(email=email[:254], password=password[:1024]),
                keys=request.app.state.signing_keys,
                settings=get_settings(),
                limiter=limiter,
                source=address,
            )
        except (NotAuthenticated, RateLimited, ValidationFailed) as refused:
            page = render(request, "login.html", None, error=refused.detail, email=email)
            page.status_code = 401
            return page
        return Redirect(
            f"{session.PREFIX}/devices",
            status_code=303,
            cookies=[session.session_cookie(pair), session.new_csrf_cookie()],
        )

    @post("/logout", opt=allow(Permission.sync_view), status_code=303)
    async def logout(self, request: Req) -> Redirect:
        await session.require_csrf(request)
        token = session.refresh_token(request)
        if token:
            await sessions.revoke_family(request.app.state.signing_keys, get_settings(), token)
        return Redirect(f"{session.PREFIX}/login", status_code=303, cookies=session.ended_session())

    @get("/session/token", opt=allow(Permission.sync_view), cache_control=None)
    async def socket_token(self, request: Req) -> dict[str, Any]:
        """The session's access token, for the page's script to open ``/api/v1/ws`` with."""
        return {"token": session.access_token(request)}

    # --- devices ----------------------------------------------------------------------------

    async def _devices(self, request: Req, caller: Caller, *, paged: bool = True) -> dict[str, Any]:
        hub: Hub = request.app.state.realtime_hub
        wanted = filters.paging(
            request.query_params if paged else {}, default_limit=get_settings().page_size_max
        )
        page = await device_status.list_devices(
            restaurant_id=caller.restaurant_id,
            location_id=caller.location_id,
            include_revoked=False,
            online=hub.devices_online(),
            cursor=wanted.cursor,
            limit=wanted.limit,
        )
        return {"devices": page.items, "paging": wanted, "next": wanted.next(page.next_cursor)}

    @get("/devices", opt=allow(Permission.sync_view))
    async def devices_page(self, request: Req, caller: NamedDependency[Caller]) -> Template:
        context = await self._devices(request, caller)
        return render(request, "devices.html", caller, active="devices", **context)

    @get("/devices/live", opt=allow(Permission.sync_view))
    async def devices_live(self, request: Req, caller: NamedDependency[Caller]) -> Template:
        return render(request, "_devices.html", caller, **await self._devices(request, caller))

    @get("/devices/{device_id:uuid}/revoke", opt=allow(Permission.devices_manage))
    async def confirm_revoke(
        self, request: Req, caller: NamedDependency[Caller], device_id: FromPath[UUID]
    ) -> Template:
        device = await devices.get_device(restaurant_id=caller.restaurant_id, device_id=device_id)
        return render(request, "revoke.html", caller, active="devices", device=device)

    @post("/devices/{device_id:uuid}/revoke", opt=allow(Permission.devices_manage), status_code=303)
    async def revoke_device(
        self, request: Req, caller: NamedDependency[Caller], device_id: FromPath[UUID]
    ) -> Redirect:
        await session.require_csrf(request)
        await devices.revoke(restaurant_id=caller.restaurant_id, device_id=device_id)
        return Redirect(f"{session.PREFIX}/devices", status_code=303)

    # --- quarantine -------------------------------------------------------------------------

    async def _quarantine(self, request: Req, caller: Caller) -> dict[str, Any]:
        wanted = filters.chosen(
            request.query_params, states=QUARANTINE_STATES, default_state="open"
        )
        paging = filters.paging(
            request.query_params, default_limit=LIST_LIMIT, filters=wanted.query
        )
        page = await reports.quarantine(
            restaurant_id=caller.restaurant_id,
            before=decode_id_cursor(paging.cursor),
            limit=paging.limit,
            filters=wanted.filters,
        )
        return {
            "changes": page.items,
            "names": await views.device_names(caller),
            "chosen": wanted,
            "states": QUARANTINE_STATES,
            "paging": paging,
            "next": paging.next(page.next_cursor),
        }

    @get("/quarantine", opt=allow(Permission.sync_view))
    async def quarantine_page(self, request: Req, caller: NamedDependency[Caller]) -> Template:
        context = await self._quarantine(request, caller)
        return render(request, "quarantine.html", caller, active="quarantine", **context)

    @get("/quarantine/live", opt=allow(Permission.sync_view))
    async def quarantine_live(self, request: Req, caller: NamedDependency[Caller]) -> Template:
        return render(
            request, "_quarantine.html", caller, **await self._quarantine(request, caller)
        )

    @post(
        "/quarantine/{quarantine_id:int}/dismiss",
        opt=allow(Permission.sync_manage),
        status_code=303,
    )
    async def dismiss_quarantined(
        self, request: Req, caller: NamedDependency[Caller], quarantine_id: FromPath[int]
    ) -> Redirect:
        await session.require_csrf(request)
        reason = (await form_field(request, "reason"))[:500]
        if not reason:
            raise ValidationFailed("say why the change is dismissed", field="reason")
        await remedies.dismiss(caller=caller, quarantine_id=quarantine_id, reason=reason)
        return await _back(request, f"{session.PREFIX}/quarantine")

    @post(
        "/quarantine/{quarantine_id:int}/retry", opt=allow(Permission.sync_manage), status_code=303
    )
    async def retry_quarantined(
        self, request: Req, caller: NamedDependency[Caller], quarantine_id: FromPath[int]
    ) -> Redirect:
        await session.require_csrf(request)
        await remedies.retry(caller=caller, quarantine_id=quarantine_id)
        return await _back(request, f"{session.PREFIX}/quarantine")

    # --- conflicts --------------------------------------------------------------------------

    async def _conflicts(self, request: Req, caller: Caller) -> dict[str, Any]:
        wanted = filters.chosen(request.query_params, states=CONFLICT_STATES, default_state="new")
        paging = filters.paging(
            request.query_params, default_limit=LIST_LIMIT, filters=wanted.query
        )
        page = await reports.conflicts(
            restaurant_id=caller.restaurant_id,
            before=decode_id_cursor(paging.cursor),
            limit=paging.limit,
            filters=wanted.filters,
        )
        return {
            "conflicts": [views.conflict_view(entry) for entry in page.items],
            "names": await views.device_names(caller),
            "chosen": wanted,
            "states": CONFLICT_STATES,
            "paging": paging,
            "next": paging.next(page.next_cursor),
        }

    @get("/conflicts", opt=allow(Permission.sync_view))
    async def conflicts_page(self, request: Req, caller: NamedDependency[Caller]) -> Template:
        context = await self._conflicts(request, caller)
        return render(request, "conflicts.html", caller, active="conflicts", **context)

    @get("/conflicts/live", opt=allow(Permission.sync_view))
    async def conflicts_live(self, request: Req, caller: NamedDependency[Caller]) -> Template:
        return render(request, "_conflicts.html", caller, **await self._conflicts(request, caller))

    @post(
        "/conflicts/{conflict_id:int}/acknowledge",
        opt=allow(Permission.sync_manage),
        status_code=303,
    )
    async def acknowledge_conflict(
        self, request: Req, caller: NamedDependency[Caller], conflict_id: FromPath[int]
    ) -> Redirect:
        await session.require_csrf(request)
        await remedies.acknowledge(caller=caller, conflict_id=conflict_id)
        return await _back(request, f"{session.PREFIX}/conflicts")

    # --- activity ---------------------------------------------------------------------------

    async def _activity(self, request: Req, caller: Caller) -> dict[str, Any]:
        now = datetime.now(UTC)
        restaurant_id, location_id = caller.restaurant_id, caller.location_id
        changes = await activity.changes_per_minute(
            restaurant_id=restaurant_id, location_id=location_id, now=now
        )
        pushes = await activity.pushes_per_minute(
            restaurant_id=restaurant_id, location_id=location_id, now=now
        )
        trend = await lag.recent(
            restaurant_id=restaurant_id, location_id=location_id, now=now, window=activity.WINDOW
        )
        listed = (await self._devices(request, caller, paged=False))["devices"]
        lags = [(device.name, device.behind_seconds) for device in listed]
        return {
            "changes": charts.stacked(changes, activity.OUTCOMES),
            "changes_table": [m for m in changes if m.total],
            "pushes": charts.stacked(pushes, activity.PUSH_OUTCOMES),
            "pushes_table": [m for m in pushes if m.total],
            "lag": charts.lag(lags),
            "lag_table": listed,
            "trend": charts.lag_over_time(trend, now=now, window=activity.WINDOW),
            "trend_table": trend,
            "outcomes": activity.OUTCOMES,
            "push_outcomes": activity.PUSH_OUTCOMES,
            "seconds_text": charts.seconds_text,
        }

    @get("/activity", opt=allow(Permission.sync_view))
    async def activity_page(self, request: Req, caller: NamedDependency[Caller]) -> Template:
        context = await self._activity(request, caller)
        return render(request, "activity.html", caller, active="activity", **context)

    @get("/activity/live", opt=allow(Permission.sync_view))
    async def activity_live(self, request: Req, caller: NamedDependency[Caller]) -> Template:
        return render(request, "_activity.html", caller, **await self._activity(request, caller))

    # --- payments ---------------------------------------------------------------------------

    async def _payments(self, caller: Caller) -> dict[str, Any]:
        restaurant_id, location_id = caller.restaurant_id, caller.location_id
        return {
            "payments": await attention.attention(
                restaurant_id=restaurant_id, location_id=location_id
            ),
            "reconcile": await reconcile_runs.latest(
                restaurant_id=restaurant_id, location_id=location_id
            ),
        }

    @get("/payments", opt=allow(Permission.payments_manage))
    async def payments_page(self, request: Req, caller: NamedDependency[Caller]) -> Template:
        context = await self._payments(caller)
        return render(request, "payments.html", caller, active="payments", **context)

    @get("/payments/live", opt=allow(Permission.payments_manage))
    async def payments_live(self, request: Req, caller: NamedDependency[Caller]) -> Template:
        return render(request, "_payments.html", caller, **await self._payments(caller))

    @post(
        "/payments/{payment_id:uuid}/acknowledge",
        opt=allow(Permission.payments_manage),
        status_code=303,
    )
    async def acknowledge(
        self, request: Req, caller: NamedDependency[Caller], payment_id: FromPath[UUID]
    ) -> Redirect:
        await session.require_csrf(request)
        if not await form_field(request, "note"):
            raise ValidationFailed("say what you decided", field="note")
        item = await attention.acknowledge(
            restaurant_id=caller.restaurant_id,
            location_id=caller.location_id,
            employee_id=caller.employee_id,
            payment_id=payment_id,
        )
        if item is None:
            raise NothingToAcknowledge(field="payment_id")
        return Redirect(f"{session.PREFIX}/payments", status_code=303)
