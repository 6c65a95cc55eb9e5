#!/usr/bin/env python3
"""Reads an iCalendar file with an independent parser (Python `icalendar`, Debian's
python3-icalendar) and prints what the hub tests check, as JSON.

Besides the parser's view it checks the raw lines itself: CRLF endings, at most 75 octets per
line, and every line valid UTF-8 on its own (a fold must not split a character). Each event's
start is converted to UTC twice: with the parser's time zone for the TZID (pytz) and with the
VTIMEZONE the file carries, so a wrong VTIMEZONE shows up as a difference.

Usage: ics_check.py FILE.ics   (exit 1 with a message on stderr if the file is malformed)
"""
import json
import sys

from icalendar import Calendar


def fail(message):
    print(f"ics_check: {message}", file=sys.stderr)
    sys.exit(1)


def utc(dt):
    return dt.astimezone(__import__("pytz").utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def main(path):
    raw = open(path, "rb").read()
    if not raw.endswith(b"\r\n"):
        fail("the file does not end with CRLF")
    lines = raw[:-2].split(b"\r\n")
    max_octets = 0
    for n, line in enumerate(lines, 1):
        if b"\n" in line or b"\r" in line:
            fail(f"line {n}: a bare CR or LF")
        max_octets = max(max_octets, len(line))
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            fail(f"line {n}: not UTF-8 on its own (a fold split a character)")
    folded = sum(1 for line in lines if line.startswith(b" "))

    cal = Calendar.from_ical(raw)
    zones = {}
    for tz in cal.walk("VTIMEZONE"):
        zones[str(tz["TZID"])] = tz.to_tz()

    events = []
    for ev in cal.walk("VEVENT"):
        start = ev["DTSTART"]
        end = ev["DTEND"]
        tzid = start.params.get("TZID")
        local_start = ev.decoded("DTSTART").replace(tzinfo=None)
        local_end = ev.decoded("DTEND").replace(tzinfo=None)
        via = {}
        if tzid in zones:
            via = {
                "start_utc_vtimezone": utc(zones[tzid].localize(local_start)),
                "end_utc_vtimezone": utc(zones[tzid].localize(local_end)),
            }
        geo = ev.get("GEO")
        events.append({
            "uid": str(ev["UID"]),
            "sequence": int(ev.get("SEQUENCE", 0)),
            "status": str(ev.get("STATUS", "")),
            "summary": str(ev.get("SUMMARY", "")),
            "location": str(ev.get("LOCATION", "")),
            "description": str(ev.get("DESCRIPTION", "")),
            "geo": [geo.latitude, geo.longitude] if geo is not None else None,
            "tzid": tzid,
            "start_local": local_start.strftime("%Y-%m-%dT%H:%M:%S"),
            "end_local": local_end.strftime("%Y-%m-%dT%H:%M:%S"),
            "start_utc": utc(ev.decoded("DTSTART")),
            "end_utc": utc(ev.decoded("DTEND")),
            "dtstamp": utc(ev.decoded("DTSTAMP")),
            **via,
        })
    print(json.dumps({
        "prodid": str(cal.get("PRODID", "")),
        "version": str(cal.get("VERSION", "")),
        "calscale": str(cal.get("CALSCALE", "")),
        "method": str(cal.get("METHOD", "")),
        "calname": str(cal.get("X-WR-CALNAME", "")),
        "timezones": sorted(zones),
        "max_octets": max_octets,
        "folded_lines": folded,
        "events": events,
    }, ensure_ascii=False))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        fail("usage: ics_check.py FILE.ics")
    main(sys.argv[1])
