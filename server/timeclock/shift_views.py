"""A period's shifts on the wire: what ``shift_reading`` found, in a manager's words."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

from server.money import round_half_up
from server.timeclock import shift_schemas as s
from server.timeclock.punch_history import History
from server.timeclock.shift_reading import Reading, ShiftRead, Stray
from server.timeclock.shift_words import Said, schedule_flag, sentence
from server.timeclock.shifts import Flag, Hours, Punch


def shift_list(reading: Reading, *, wages: bool) -> s.ShiftList:
    return s.ShiftList(
        items=[shift_out(reading, item, wages=wages) for item in reading.shifts],
        stray_punches=[stray_out(reading, stray) for stray in reading.strays],
    )


def shift_out(reading: Reading, item: ShiftRead, *, wages: bool) -> s.Shift:
    shift = item.shift
    counted = set(shift.punch_ids)
    flag_of = {flagged.punch_id: flagged.flag for flagged in shift.flags}
    held = _held(reading, item)
    punches = [
        _punch_out(reading, history, flag_of.get(history.punch_id), counted) for history in held
    ]
    punches.sort(key=lambda p: (p.at, str(p.id)))
    role_id = shift.job_role_id or (item.rate.job_role_id if item.rate else None)
    out = s.Shift(
        id=shift.id,
        employee=_employee(reading, shift.employee_id),
        location=_location(reading, shift.location_id),
        job_role=None if role_id is None else s.Named(id=role_id, name=_role(reading, role_id)),
        business_day=item.business_day,
        started_at=shift.started_at,
        ended_at=shift.ended_at,
        auto_closed=shift.auto_closed,
        breaks=[
            s.Break(
                started_at=b.started_at,
                ended_at=b.ended_at,
                paid=b.paid,
                break_type_id=b.break_type_id,
                seconds=_seconds(b.started_at, b.ended_at or reading.now),
            )
            for b in shift.breaks
        ],
        hours=hours_out(item.hours),
        declared_tips=shift.declared_tips,
        flags=_flags(reading, item),
        punches=punches,
        corrections=corrections_of(reading, held),
    )
    if wages:
        out.wage = s.Wage(
            job_role_id=item.rate.job_role_id if item.rate else shift.job_role_id,
            hourly_rate=item.rate.hourly_rate if item.rate else None,
            pay=item.pay,
            currency=reading.currency,
        )
    return out


def _flags(reading: Reading, item: ShiftRead) -> list[s.Flag]:
    """The rule's flags, then the schedule's, each said in a sentence."""
    shift = item.shift
    flags = [
        s.Flag(
            code=s.FlagCode(flagged.flag.value),
            punch_id=flagged.punch_id,
            message=sentence(
                flagged.flag.value,
                _said(reading, reading.histories[flagged.punch_id]),
                limit=reading.settings.auto_close_after,
            ),
        )
        for flagged in shift.flags
    ]
    clock_in = _said(reading, reading.histories[shift.id])
    planned = schedule_flag(
        clock_in,
        item.planned,
        late_after=timedelta(minutes=reading.settings.late_after_minutes),
        early_before=timedelta(minutes=reading.settings.early_clock_in_minutes),
    )
    if planned is not None:
        code, message = planned
        flags.append(s.Flag(code=s.FlagCode(code), punch_id=shift.id, message=message))
    return flags


def stray_out(reading: Reading, stray: Stray) -> s.StrayPunch:
    punch = _last(stray.history)
    flag = None
    if stray.flag is not None:
        flag = s.Flag(
            code=s.FlagCode(stray.flag.flag.value),
            punch_id=stray.history.punch_id,
            message=sentence(stray.flag.flag.value, _said(reading, stray.history)),
        )
    flag_code = None if stray.flag is None else stray.flag.flag
    return s.StrayPunch(
        employee=_employee(reading, punch.employee_id),
        location=_location(reading, punch.location_id),
        business_day=stray.business_day,
        punch=_punch_out(reading, stray.history, flag_code, set()),
        flag=flag,
        corrections=corrections_of(reading, [stray.history]),
    )


def hours_out(hours: Hours) -> s.Hours:
    return s.Hours(
        regular_seconds=hours.regular,
        paid_break_seconds=hours.paid_breaks,
        unpaid_break_seconds=hours.unpaid_breaks,
        paid_seconds=hours.paid,
        regular_minutes=round_half_up(hours.regular, 60),
        paid_break_minutes=round_half_up(hours.paid_breaks, 60),
        unpaid_break_minutes=round_half_up(hours.unpaid_breaks, 60),
        paid_minutes=round_half_up(hours.paid, 60),
    )


def corrections_of(reading: Reading, held: Iterable[History]) -> list[s.Correction]:
    """The corrections of these punches, oldest first, each with the punch before and after."""
    found = [
        correction_out(reading, step.correction_id, step.before, step.after)
        for history in held
        for step in history.steps
    ]
    return sorted(found, key=lambda c: (c.created_at, str(c.id)))


def correction_out(
    reading: Reading, correction_id: UUID, before: Punch | None, after: Punch | None
) -> s.Correction:
    row = reading.corrections[correction_id]
    return s.Correction(
        id=row["id"],
        action=row["action"],
        punch_id=row["punch_id"],
        employee_id=row["employee_id"],
        location_id=row["location_id"],
        reason=row["reason"],
        corrected_by=row["corrected_by"],
        corrected_by_name=reading.people.get(row["corrected_by"]),
        created_at=row["created_at"],
        before=punch_state(before),
        after=punch_state(after),
    )


def punch_state(punch: Punch | None) -> s.PunchState | None:
    if punch is None:
        return None
    return s.PunchState(
        kind=punch.kind,
        at=punch.at,
        paid=punch.paid,
        job_role_id=punch.job_role_id,
        declared_tips=punch.declared_tips,
    )


def _punch_out(
    reading: Reading, history: History, flag: Flag | None, counted: set[UUID]
) -> s.PunchOut:
    punch = _last(history)
    status: Literal["counted", "flagged", "voided"]
    if history.voided:
        status = "voided"
    elif history.punch_id in counted:
        status = "counted"
    else:
        status = "flagged"
    return s.PunchOut(
        id=history.punch_id,
        kind=punch.kind,
        at=punch.at,
        recorded_at=history.original.at if history.original else None,
        device_id=punch.device_id,
        device_name=_device(reading, punch.device_id),
        status=status,
        flag=None if flag is None else s.FlagCode(flag.value),
        paid=punch.paid,
        break_type_id=punch.break_type_id,
        job_role_id=punch.job_role_id,
        declared_tips=punch.declared_tips,
    )


def _seconds(start: datetime, end: datetime) -> int:
    return max(0, int(end.timestamp() // 1) - int(start.timestamp() // 1))


def _held(reading: Reading, item: ShiftRead) -> list[History]:
    """Every punch of a shift, once: those that count, those flagged, the voided ones."""
    ids = dict.fromkeys([*item.shift.punch_ids, *(f.punch_id for f in item.shift.flags)])
    return [*(reading.histories[punch_id] for punch_id in ids), *item.voided]


def _said(reading: Reading, history: History) -> Said:
    punch = _last(history)
    return Said(
        kind=punch.kind,
        at=punch.at,
        zone=reading.places[punch.location_id].zone,
        device_name=_device(reading, punch.device_id),
    )


def _last(history: History) -> Punch:
    assert history.last is not None
    return history.last


def _employee(reading: Reading, employee_id: UUID) -> s.Named:
    return s.Named(id=employee_id, name=reading.employees.get(employee_id, ""))


def _location(reading: Reading, location_id: UUID) -> s.Named:
    return s.Named(id=location_id, name=reading.places[location_id].name)


def _role(reading: Reading, role_id: UUID) -> str:
    return reading.job_roles.get(role_id, "")


def _device(reading: Reading, device_id: UUID | None) -> str | None:
    return None if device_id is None else reading.devices.get(device_id)


def corrections_in(reading: Reading) -> list[s.Correction]:
    """The corrections of the period's punches, oldest first."""
    held = [history for item in reading.shifts for history in _held(reading, item)]
    held += [stray.history for stray in reading.strays]
    return corrections_of(reading, held)


def punch_detail(reading: Reading, punch_id: UUID) -> s.PunchDetail | None:
    """The punch where the reading holds it: in a shift (counted, flagged or voided) or a
    stray; None if it is in neither."""
    for item in reading.shifts:
        shift = item.shift
        for history in _held(reading, item):
            if history.punch_id == punch_id:
                flag = next((f.flag for f in shift.flags if f.punch_id == punch_id), None)
                return s.PunchDetail(
                    employee=_employee(reading, shift.employee_id),
                    location=_location(reading, shift.location_id),
                    business_day=item.business_day,
                    shift_id=shift.id,
                    punch=_punch_out(reading, history, flag, set(shift.punch_ids)),
                    corrections=corrections_of(reading, [history]),
                )
    for stray in reading.strays:
        if stray.history.punch_id == punch_id:
            out = stray_out(reading, stray)
            return s.PunchDetail(
                employee=out.employee,
                location=out.location,
                business_day=out.business_day,
                shift_id=None,
                punch=out.punch,
                corrections=out.corrections,
            )
    return None
