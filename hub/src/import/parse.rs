//! Reading import files into rows of named text cells: CSV with a header line, or a GeoJSON
//! FeatureCollection of points. Everything a file can get wrong as a whole (size, encoding,
//! header, JSON syntax) is found here, before any row touches the database.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Format, ImportKind, Location, Problem};

/// Largest file accepted: far above any region's data, far below what would hurt the hub.
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;
/// Most rows (or features) accepted in one file.
pub const MAX_ROWS: usize = 100_000;

/// One record of a file: its place in the file and its cells by column name. Empty cells are
/// left out, so "absent" and "empty" mean the same.
#[derive(Debug, Clone)]
pub struct Row {
    pub location: Location,
    pub cells: BTreeMap<String, String>,
    /// The row came from GeoJSON: coordinates are in the geometry, not in columns.
    pub geo: bool,
}

/// The columns of one kind of file.
#[derive(Debug, Clone, Copy)]
pub struct Columns {
    pub required: &'static [&'static str],
    pub optional: &'static [&'static str],
    /// The latitude and longitude columns, which GeoJSON takes from the point geometry.
    pub point: Option<(&'static str, &'static str)>,
}

impl Columns {
    fn allowed(&self, geo: bool) -> Vec<&'static str> {
        self.required
            .iter()
            .chain(self.optional)
            .copied()
            .filter(|c| !geo || self.point.is_none_or(|(lat, lon)| *c != lat && *c != lon))
            .collect()
    }

    fn required(&self, geo: bool) -> Vec<&'static str> {
        self.required
            .iter()
            .copied()
            .filter(|c| !geo || self.point.is_none_or(|(lat, lon)| *c != lat && *c != lon))
            .collect()
    }
}

/// Parses one file into rows, or the problems that make the whole file unreadable. Problems of
/// single CSV records (a wrong number of fields) come back beside the good rows.
pub fn parse(
    file: &str,
    kind: ImportKind,
    format: Format,
    bytes: &[u8],
) -> Result<(Vec<Row>, Vec<Problem>), Vec<Problem>> {
    let whole = |reason: String| {
        vec![Problem {
            file: file.into(),
            location: Location::File,
            field: None,
            reason,
        }]
    };
    if bytes.len() > MAX_FILE_BYTES {
        return Err(whole(format!(
            "the file is larger than {} MB; split it into smaller files",
            MAX_FILE_BYTES / (1024 * 1024)
        )));
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            return Err(vec![Problem {
                file: file.into(),
                location: Location::Line(line as u64),
                field: None,
                reason: "is not UTF-8 text; save the file with the encoding UTF-8".into(),
            }]);
        }
    };
    // Spreadsheets often put a byte order mark in front of UTF-8 files.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let columns = kind.columns();
    match format {
        Format::Csv => parse_csv(file, &columns, text),
        Format::GeoJson => {
            if columns.point.is_none() {
                return Err(whole(format!(
                    "{kind} have no place on a map; import them from CSV"
                )));
            }
            parse_geojson(file, &columns, text).map(|rows| (rows, Vec::new()))
        }
    }
}

/// German spreadsheets save CSV with semicolons; the header line says which one is meant.
fn delimiter(text: &str) -> u8 {
    let header = text
        .lines()
        .find(|l| !l.trim_start().starts_with('#'))
        .unwrap_or("");
    if header.matches(';').count() > header.matches(',').count() {
        b';'
    } else {
        b','
    }
}

fn parse_csv(
    file: &str,
    columns: &Columns,
    text: &str,
) -> Result<(Vec<Row>, Vec<Problem>), Vec<Problem>> {
    let problem = |location: Location, field: Option<String>, reason: String| Problem {
        file: file.into(),
        location,
        field,
        reason,
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter(text))
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let header = match records.next() {
        None => {
            return Err(vec![problem(
                Location::File,
                None,
                format!(
                    "the file is empty; its first line names the columns: {}",
                    columns.allowed(false).join(", ")
                ),
            )]);
        }
        Some(Err(e)) => return Err(vec![problem(Location::Line(1), None, e.to_string())]),
        Some(Ok(header)) => header,
    };
    // The csv crate's own line count skips comment and blank lines, and its position lies before
    // them; an editor counts them, so lines are counted from the first byte of the record.
    // Records come in order, so counting continues from the previous record.
    let mut counted = (0usize, 1u64);
    let mut line_at = |position: Option<&csv::Position>| {
        let mut byte = position
            .map_or(0, |p| p.byte() as usize)
            .clamp(counted.0, text.len());
        loop {
            let rest = &text[byte..];
            if rest.starts_with('\n') {
                byte += 1;
            } else if rest.starts_with("\r\n") {
                byte += 2;
            } else if rest.starts_with('#') {
                byte += rest.find('\n').map_or(rest.len(), |i| i + 1);
            } else {
                break;
            }
        }
        let newlines = text.as_bytes()[counted.0..byte]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        counted = (byte, counted.1 + newlines as u64);
        counted.1
    };
    let header_line = line_at(header.position());
    let names: Vec<String> = header.iter().map(str::to_lowercase).collect();
    let mut problems = Vec::new();
    let allowed = columns.allowed(false);
    for (i, name) in names.iter().enumerate() {
        if !allowed.contains(&name.as_str()) {
            problems.push(problem(
                Location::Line(header_line),
                Some(name.clone()),
                format!("unknown column; the columns are {}", allowed.join(", ")),
            ));
        } else if names[..i].contains(name) {
            problems.push(problem(
                Location::Line(header_line),
                Some(name.clone()),
                "appears twice".into(),
            ));
        }
    }
    for required in columns.required(false) {
        if !names.iter().any(|n| n == required) {
            problems.push(problem(
                Location::Line(header_line),
                Some(required.into()),
                "missing column".into(),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }

    let mut rows = Vec::new();
    let mut row_problems = Vec::new();
    for record in records {
        if rows.len() + row_problems.len() >= MAX_ROWS {
            return Err(vec![problem(
                Location::File,
                None,
                format!("more than {MAX_ROWS} rows; split the file"),
            )]);
        }
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let line = line_at(e.position());
                row_problems.push(problem(Location::Line(line), None, e.to_string()));
                continue;
            }
        };
        let line = line_at(record.position());
        if record.len() != names.len() {
            row_problems.push(problem(
                Location::Line(line),
                None,
                format!(
                    "has {} fields but the header has {}",
                    record.len(),
                    names.len()
                ),
            ));
            continue;
        }
        let cells = names
            .iter()
            .zip(record.iter())
            .filter(|(_, value)| !value.is_empty())
            .map(|(name, value)| (name.clone(), value.to_string()))
            .collect();
        rows.push(Row {
            location: Location::Line(line),
            cells,
            geo: false,
        });
    }
    Ok((rows, row_problems))
}

fn parse_geojson(file: &str, columns: &Columns, text: &str) -> Result<Vec<Row>, Vec<Problem>> {
    let at = |location: Location, field: Option<&str>, reason: String| Problem {
        file: file.into(),
        location,
        field: field.map(str::to_string),
        reason,
    };
    let json: Value = serde_json::from_str(text).map_err(|e| {
        vec![at(
            Location::Line(e.line() as u64),
            None,
            format!("is not valid JSON: {e}"),
        )]
    })?;
    let top = |reason: &str| vec![at(Location::File, None, reason.to_string())];
    if json.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
        return Err(top(
            "a GeoJSON FeatureCollection is expected (\"type\": \"FeatureCollection\")",
        ));
    }
    let features = json
        .get("features")
        .and_then(Value::as_array)
        .ok_or_else(|| top("the FeatureCollection has no \"features\" array"))?;
    if features.len() > MAX_ROWS {
        return Err(top(&format!(
            "more than {MAX_ROWS} features; split the file"
        )));
    }
    let allowed = columns.allowed(true);
    let (lat_column, lon_column) = columns.point.unwrap_or(("lat", "lon"));
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for (index, feature) in features.iter().enumerate() {
        let location = Location::Feature(index);
        let mut bad =
            |field: &str, reason: String| problems.push(at(location, Some(field), reason));
        if feature.get("type").and_then(Value::as_str) != Some("Feature") {
            bad("type", "must be \"Feature\"".into());
            continue;
        }
        let mut cells = BTreeMap::new();
        match point(feature.get("geometry")) {
            Ok((lon, lat)) => {
                cells.insert(lat_column.to_string(), lat.to_string());
                cells.insert(lon_column.to_string(), lon.to_string());
            }
            Err(reason) => bad("geometry", reason),
        }
        let properties = match feature.get("properties") {
            Some(Value::Object(map)) => map.clone(),
            Some(Value::Null) | None => serde_json::Map::new(),
            Some(_) => {
                bad("properties", "must be an object".into());
                continue;
            }
        };
        for (name, value) in properties {
            if !allowed.contains(&name.as_str()) {
                let reason = if name == lat_column || name == lon_column {
                    "comes from the geometry; leave it out of the properties".to_string()
                } else {
                    format!(
                        "unknown property; the properties are {}",
                        allowed.join(", ")
                    )
                };
                bad(&name, reason);
                continue;
            }
            let text = match value {
                Value::Null => continue,
                Value::String(s) => s.trim().to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Number(n) => n.to_string(),
                Value::Array(_) | Value::Object(_) => {
                    bad(&name, "must be text, a number or true/false".into());
                    continue;
                }
            };
            if !text.is_empty() {
                cells.insert(name, text);
            }
        }
        rows.push(Row {
            location,
            cells,
            geo: true,
        });
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(problems)
    }
}

/// The `[lon, lat]` of a Point geometry.
fn point(geometry: Option<&Value>) -> Result<(f64, f64), String> {
    let geometry = geometry
        .filter(|g| !g.is_null())
        .ok_or("a Point geometry is required")?;
    match geometry.get("type").and_then(Value::as_str) {
        Some("Point") => {}
        Some(other) => return Err(format!("must be a Point, not a {other}")),
        None => return Err("has no \"type\"".into()),
    }
    let coordinates = geometry
        .get("coordinates")
        .and_then(Value::as_array)
        .ok_or("a Point needs \"coordinates\": [longitude, latitude]")?;
    let numbers: Vec<f64> = coordinates.iter().filter_map(Value::as_f64).collect();
    if numbers.len() != coordinates.len() || !(2..=3).contains(&numbers.len()) {
        return Err("coordinates must be [longitude, latitude] as numbers".into());
    }
    let (lon, lat) = (numbers[0], numbers[1]);
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        return Err(format!(
            "[{lon}, {lat}] lies outside the earth's ranges; GeoJSON puts longitude first"
        ));
    }
    Ok((lon, lat))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semicolon_files_and_byte_order_marks_are_read() {
        let text = "\u{feff}name;municipality;lat;lon\nDahlum;Dahlum;52,1333;10,85\n";
        let (rows, problems) = parse(
            "villages.csv",
            ImportKind::Villages,
            Format::Csv,
            text.as_bytes(),
        )
        .unwrap();
        assert!(problems.is_empty());
        assert_eq!(rows[0].cells["name"], "Dahlum");
        assert_eq!(rows[0].cells["lat"], "52,1333");
        assert_eq!(rows[0].location, Location::Line(2));
    }

    #[test]
    fn comment_lines_keep_line_numbers_true() {
        let text = "# Quelle: GeoNames\nname,municipality,lat,lon\n\n# zweiter Kommentar\nDahlum,Dahlum,52.1,10.8\n\"Kissen\nbrück\",K,52.1,10.6\nRoklum,R,52.1\n";
        let (rows, problems) = parse(
            "villages.csv",
            ImportKind::Villages,
            Format::Csv,
            text.as_bytes(),
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].location, Location::Line(5));
        // A quoted line break belongs to the record; the next record starts two lines later.
        assert_eq!(rows[1].location, Location::Line(6));
        assert_eq!(problems[0].location, Location::Line(8));
        let header = "# Kommentar\nname,lat\n";
        let problems = parse(
            "villages.csv",
            ImportKind::Villages,
            Format::Csv,
            header.as_bytes(),
        )
        .unwrap_err();
        assert_eq!(problems[0].location, Location::Line(2));
    }

    #[test]
    fn ragged_records_are_reported_with_their_line() {
        let text = "name,municipality,lat,lon\nA,A,52.1,10.8\nB,B,52.1\nC,C,52.1,10.8\n";
        let (rows, problems) = parse(
            "villages.csv",
            ImportKind::Villages,
            Format::Csv,
            text.as_bytes(),
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].location, Location::Line(3));
        assert!(
            problems[0].reason.contains("3 fields but the header has 4"),
            "{}",
            problems[0].reason
        );
    }

    #[test]
    fn json_syntax_errors_name_their_line() {
        let text = "{\"type\": \"FeatureCollection\",\n \"features\": [\n  {,}\n]}";
        let problems = parse(
            "stops.geojson",
            ImportKind::Stops,
            Format::GeoJson,
            text.as_bytes(),
        )
        .unwrap_err();
        assert_eq!(problems[0].location, Location::Line(3));
        let shifts =
            parse("shifts.geojson", ImportKind::Shifts, Format::GeoJson, b"{}").unwrap_err();
        assert!(shifts[0].reason.contains("import them from CSV"));
    }
}
