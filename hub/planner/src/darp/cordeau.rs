//! Reader for Cordeau's DARP benchmark text format (Cordeau and Laporte 2003 `pr01`-`pr20`,
//! Cordeau 2006 `a2-16` etc.). Parses text the caller has read; does no I/O itself.
//!
//! Header `K N T Q L` (vehicles, size, maximum route duration, capacity, maximum ride time),
//! then lines `id x y service load earliest latest`. Node 0 is the depot, nodes `1..=n` the
//! pickups, `n+1..=2n` the drop-offs. The 2006 variant has `N = n` and a final end-depot line
//! (`2n + 2` node lines); the 2003 variant has `N = 2n` and no end depot (`N + 1` node lines).
//! Travel time and distance are Euclidean.

use super::DarpError;
use super::model::{Instance, Matrices, Request, TimeWindow, Vehicle};

/// One parsed node line.
struct Line {
    x: f64,
    y: f64,
    service: f64,
    load: i64,
    earliest: f64,
    latest: f64,
}

/// Parses a Cordeau instance (either header variant).
pub fn parse(text: &str) -> Result<Instance, DarpError> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (hl, header) = lines.next().ok_or_else(|| parse_err(1, "empty file"))?;
    let h: Vec<f64> = numbers(header, hl + 1)?;
    if h.len() < 5 {
        return Err(parse_err(hl + 1, "header needs K N T Q L"));
    }
    let (k, size, duration, capacity, max_ride) =
        (h[0] as usize, h[1] as usize, h[2], h[3] as u32, h[4]);
    let mut nodes = Vec::new();
    for (no, l) in lines {
        let v = numbers(l, no + 1)?;
        if v.len() < 7 {
            return Err(parse_err(
                no + 1,
                "node line needs id x y service load earliest latest",
            ));
        }
        nodes.push(Line {
            x: v[1],
            y: v[2],
            service: v[3],
            load: v[4] as i64,
            earliest: v[5],
            latest: v[6],
        });
    }
    let (n, end) = if nodes.len() == size + 1 && size % 2 == 0 {
        (size / 2, 0)
    } else if nodes.len() == 2 * size + 2 {
        (size, 2 * size + 1)
    } else {
        return Err(parse_err(
            1,
            &format!(
                "{} node lines fit neither N + 1 nor 2N + 2 for N = {size}",
                nodes.len()
            ),
        ));
    };
    let points: Vec<(f64, f64)> = nodes.iter().map(|l| (l.x, l.y)).collect();
    let matrices = Matrices::euclidean(&points);
    let mut requests = Vec::with_capacity(n);
    for i in 1..=n {
        let (p, d) = (&nodes[i], &nodes[n + i]);
        if p.load <= 0 || d.load != -p.load {
            return Err(parse_err(
                i + 1,
                "pickup load must be positive and match its drop-off",
            ));
        }
        requests.push(Request {
            pickup: i,
            dropoff: n + i,
            pickup_window: TimeWindow::new(p.earliest, p.latest),
            dropoff_window: TimeWindow::new(d.earliest, d.latest),
            seats: p.load as u32,
            wheelchairs: 0,
            pickup_service: p.service,
            dropoff_service: d.service,
            max_ride,
        });
    }
    let (s, e) = (&nodes[0], &nodes[end]);
    let vehicle = Vehicle {
        start: 0,
        end,
        shift: TimeWindow::new(s.earliest.max(e.earliest), s.latest.min(e.latest)),
        max_duration: duration,
        seats: capacity,
        wheelchairs: 0,
        rest: None,
    };
    Instance::new(matrices, requests, vec![vehicle; k])
}

fn numbers(line: &str, no: usize) -> Result<Vec<f64>, DarpError> {
    line.split_whitespace()
        .map(|w| {
            w.parse::<f64>()
                .map_err(|_| parse_err(no, &format!("not a number: {w:?}")))
        })
        .collect()
}

fn parse_err(line: usize, message: &str) -> DarpError {
    DarpError::Parse {
        line,
        message: message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_variants() {
        let v2006 =
            "1 1 100 3 30\n0 0 0 0 0 0 480\n1 3 4 2 1 0 100\n2 6 8 2 -1 50 60\n3 0 0 0 0 0 480\n";
        let i = parse(v2006).expect("2006 variant parses");
        assert_eq!(i.requests().len(), 1);
        assert_eq!(i.vehicles()[0].end, 3);
        assert!((i.matrices().distance(1, 2) - 5.0).abs() < 1e-12);
        let v2003 = "2 2 480 6 90\n0 0 0 0 0 0 1440\n1 3 4 10 1 0 1440\n2 6 8 10 -1 50 60\n";
        let i = parse(v2003).expect("2003 variant parses");
        assert_eq!(i.requests().len(), 1);
        assert_eq!(i.vehicles().len(), 2);
        assert_eq!(i.vehicles()[0].end, 0);
        assert_eq!(i.requests()[0].dropoff_window, TimeWindow::new(50.0, 60.0));
        assert!(parse("1 3 480 6 90\n0 0 0 0 0 0 1440\n").is_err());
    }
}
