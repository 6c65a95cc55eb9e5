#!/usr/bin/env python3
"""An independent check of a GTFS static feed (python3 standard library only): the files the GTFS
reference requires and their required fields, unique ids, every reference resolving (agency,
route, service, trip, stop, parent station), valid times increasing within each trip, valid
dates (YYYYMMDD), coordinates and enumerations.

Usage: gtfs_check.py FEED.zip
Exit 0 and a summary line when the feed passes; exit 1 and one line per problem otherwise.
"""
import csv
import io
import re
import sys
import zipfile
from datetime import datetime

try:
    from zoneinfo import available_timezones
except ImportError:  # Python < 3.9
    available_timezones = None

# file -> fields that must be present (as columns, and non-empty in every row).
REQUIRED = {
    "agency.txt": ["agency_name", "agency_url", "agency_timezone"],
    "stops.txt": ["stop_id"],
    "routes.txt": ["route_id", "route_type"],
    "trips.txt": ["route_id", "service_id", "trip_id"],
    "stop_times.txt": ["trip_id", "stop_id", "stop_sequence"],
    "calendar.txt": ["service_id", "monday", "tuesday", "wednesday", "thursday", "friday",
                     "saturday", "sunday", "start_date", "end_date"],
    "calendar_dates.txt": ["service_id", "date", "exception_type"],
    "feed_info.txt": ["feed_publisher_name", "feed_publisher_url", "feed_lang"],
}
ALWAYS = ["agency.txt", "stops.txt", "routes.txt", "trips.txt", "stop_times.txt"]
TIME = re.compile(r"^(\d{1,3}):([0-5]\d):([0-5]\d)$")
ROUTE_TYPES = {0, 1, 2, 3, 4, 5, 6, 7, 11, 12} | set(range(100, 1800))

problems = []


def problem(message):
    problems.append(message)


def seconds(text, where):
    m = TIME.match(text)
    if not m:
        problem(f"{where}: '{text}' is not a time H:MM:SS")
        return None
    return int(m[1]) * 3600 + int(m[2]) * 60 + int(m[3])


def date_ok(text, where):
    if not re.fullmatch(r"\d{8}", text or ""):
        problem(f"{where}: '{text}' is not a date YYYYMMDD")
        return False
    try:
        datetime.strptime(text, "%Y%m%d")
    except ValueError:
        problem(f"{where}: '{text}' is not a calendar date")
        return False
    return True


def read(zf, name):
    try:
        text = zf.read(name).decode("utf-8-sig")
    except UnicodeDecodeError:
        problem(f"{name}: not UTF-8")
        return [], []
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = list(reader)
    header = reader.fieldnames or []
    if not header:
        problem(f"{name}: no header line")
    if len(set(header)) != len(header):
        problem(f"{name}: a column appears twice")
    for n, row in enumerate(rows, 2):
        if None in row or any(v is None for v in row.values()):
            problem(f"{name} line {n}: the number of fields differs from the header")
    for field in REQUIRED.get(name, []):
        if field not in header:
            problem(f"{name}: required field '{field}' is missing")
            continue
        for n, row in enumerate(rows, 2):
            if not (row.get(field) or "").strip():
                problem(f"{name} line {n}: required field '{field}' is empty")
    return header, rows


def unique(rows, field, name):
    seen = set()
    for n, row in enumerate(rows, 2):
        value = row.get(field)
        if value in seen:
            problem(f"{name} line {n}: {field} '{value}' is not unique")
        seen.add(value)
    return seen


def url_ok(text, where):
    if not re.match(r"^https?://[^\s\"]+$", text or ""):
        problem(f"{where}: '{text}' is not an http(s) URL")


def check(path):
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        problem(f"not a zip archive: {e}")
        return {}
    bad = zf.testzip()
    if bad:
        problem(f"{bad}: CRC mismatch")
    names = set(zf.namelist())
    for name in ALWAYS:
        if name not in names:
            problem(f"required file {name} is missing")
    if "calendar.txt" not in names and "calendar_dates.txt" not in names:
        problem("neither calendar.txt nor calendar_dates.txt is present")
    tables = {name: read(zf, name) for name in REQUIRED if name in names}
    rows = {name: t[1] for name, t in tables.items()}
    header = {name: t[0] for name, t in tables.items()}

    agencies = rows.get("agency.txt", [])
    if not agencies:
        problem("agency.txt: no agency")
    agency_ids = unique(agencies, "agency_id", "agency.txt") if "agency_id" in header.get("agency.txt", []) else set()
    if len(agencies) > 1 and "agency_id" not in header.get("agency.txt", []):
        problem("agency.txt: agency_id is required with several agencies")
    zones = {a.get("agency_timezone") for a in agencies}
    if len(zones) > 1:
        problem("agency.txt: agencies have different time zones")
    for n, a in enumerate(agencies, 2):
        url_ok(a.get("agency_url"), f"agency.txt line {n}")
        if available_timezones and a.get("agency_timezone") not in available_timezones():
            problem(f"agency.txt line {n}: unknown time zone '{a.get('agency_timezone')}'")

    stops = rows.get("stops.txt", [])
    stop_ids = unique(stops, "stop_id", "stops.txt")
    for n, s in enumerate(stops, 2):
        where = f"stops.txt line {n}"
        kind = s.get("location_type") or "0"
        if kind not in {"0", "1", "2", "3", "4"}:
            problem(f"{where}: location_type '{kind}' is not valid")
        if kind in {"0", "1", "2"}:
            for field in ("stop_name", "stop_lat", "stop_lon"):
                if not (s.get(field) or "").strip():
                    problem(f"{where}: {field} is required for location_type {kind}")
        try:
            lat, lon = float(s.get("stop_lat") or "nan"), float(s.get("stop_lon") or "nan")
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                problem(f"{where}: coordinates out of range")
        except ValueError:
            problem(f"{where}: coordinates are not numbers")
        parent = s.get("parent_station")
        if parent and parent not in stop_ids:
            problem(f"{where}: parent_station '{parent}' is not a stop")
        if s.get("wheelchair_boarding") not in (None, "", "0", "1", "2"):
            problem(f"{where}: wheelchair_boarding is not 0, 1 or 2")

    routes = rows.get("routes.txt", [])
    route_ids = unique(routes, "route_id", "routes.txt")
    for n, r in enumerate(routes, 2):
        where = f"routes.txt line {n}"
        if not ((r.get("route_short_name") or "").strip() or (r.get("route_long_name") or "").strip()):
            problem(f"{where}: route_short_name or route_long_name is required")
        if not (r.get("route_type") or "").isdigit() or int(r["route_type"]) not in ROUTE_TYPES:
            problem(f"{where}: route_type '{r.get('route_type')}' is not valid")
        agency = r.get("agency_id")
        if agency_ids and (agency or "") not in agency_ids:
            problem(f"{where}: agency_id '{agency}' is not an agency")
        if len(agencies) > 1 and not agency:
            problem(f"{where}: agency_id is required with several agencies")

    service_ids = set()
    for n, c in enumerate(rows.get("calendar.txt", []), 2):
        where = f"calendar.txt line {n}"
        service_ids.add(c.get("service_id"))
        for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"):
            if c.get(day) not in ("0", "1"):
                problem(f"{where}: {day} is not 0 or 1")
        ok = date_ok(c.get("start_date"), where) & date_ok(c.get("end_date"), where)
        if ok and c["end_date"] < c["start_date"]:
            problem(f"{where}: end_date before start_date")
    seen_dates = set()
    for n, c in enumerate(rows.get("calendar_dates.txt", []), 2):
        where = f"calendar_dates.txt line {n}"
        service_ids.add(c.get("service_id"))
        date_ok(c.get("date"), where)
        if c.get("exception_type") not in ("1", "2"):
            problem(f"{where}: exception_type is not 1 or 2")
        key = (c.get("service_id"), c.get("date"))
        if key in seen_dates:
            problem(f"{where}: service {key[0]} on {key[1]} is listed twice")
        seen_dates.add(key)

    trips = rows.get("trips.txt", [])
    trip_ids = unique(trips, "trip_id", "trips.txt")
    for n, t in enumerate(trips, 2):
        where = f"trips.txt line {n}"
        if t.get("route_id") not in route_ids:
            problem(f"{where}: route_id '{t.get('route_id')}' is not a route")
        if t.get("service_id") not in service_ids:
            problem(f"{where}: service_id '{t.get('service_id')}' is in no calendar")

    per_trip = {}
    for n, st in enumerate(rows.get("stop_times.txt", []), 2):
        where = f"stop_times.txt line {n}"
        if st.get("trip_id") not in trip_ids:
            problem(f"{where}: trip_id '{st.get('trip_id')}' is not a trip")
        if st.get("stop_id") not in stop_ids:
            problem(f"{where}: stop_id '{st.get('stop_id')}' is not a stop")
        seq = st.get("stop_sequence") or ""
        if not seq.isdigit():
            problem(f"{where}: stop_sequence '{seq}' is not a non-negative integer")
            continue
        for field in ("pickup_type", "drop_off_type"):
            if st.get(field) not in (None, "", "0", "1", "2", "3"):
                problem(f"{where}: {field} is not 0 to 3")
        arrival = st.get("arrival_time") or ""
        departure = st.get("departure_time") or ""
        arr = seconds(arrival, where) if arrival else None
        dep = seconds(departure, where) if departure else None
        per_trip.setdefault(st.get("trip_id"), []).append((int(seq), arr, dep, where))

    for trip in trip_ids:
        times = sorted(per_trip.get(trip, []))
        if len(times) < 2:
            problem(f"trip {trip}: fewer than two stop times")
            continue
        seqs = [t[0] for t in times]
        if len(set(seqs)) != len(seqs):
            problem(f"trip {trip}: a stop_sequence appears twice")
        for end in (times[0], times[-1]):
            if end[1] is None or end[2] is None:
                problem(f"{end[3]}: the first and last stop of a trip need arrival and departure times")
        last = None
        for seq, arr, dep, where in times:
            if arr is not None and dep is not None and dep < arr:
                problem(f"{where}: departure before arrival")
            for t in (arr, dep):
                if t is None:
                    continue
                if last is not None and t < last:
                    problem(f"{where}: times go backwards in trip {trip}")
                last = t

    for n, f in enumerate(rows.get("feed_info.txt", []), 2):
        where = f"feed_info.txt line {n}"
        url_ok(f.get("feed_publisher_url"), where)
        for field in ("feed_start_date", "feed_end_date"):
            if f.get(field):
                date_ok(f[field], where)

    return {"stops": len(stops), "routes": len(routes), "trips": len(trips),
            "stop_times": len(rows.get("stop_times.txt", [])), "services": len(service_ids)}


def main():
    if len(sys.argv) != 2:
        print("usage: gtfs_check.py FEED.zip", file=sys.stderr)
        sys.exit(2)
    counts = check(sys.argv[1])
    if problems:
        for p in problems:
            print(p)
        print(f"gtfs_check: {len(problems)} problem(s)")
        sys.exit(1)
    print("gtfs_check: ok " + " ".join(f"{k}={v}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
