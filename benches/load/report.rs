//! Markdown tables, the machine, and rewriting BENCHMARKS.md.

use std::fmt::Write as _;

use crate::stats::Stats;

/// One Markdown table with a title and notes under it.
pub struct Table {
    /// `### …` heading.
    pub title: String,
    /// Column headings (a leading `:` right-aligns nothing; numbers are
    /// right-aligned from the second column on).
    pub header: Vec<String>,
    /// The cells.
    pub rows: Vec<Vec<String>>,
    /// Lines printed under the table.
    pub notes: Vec<String>,
}

impl Table {
    /// An empty table.
    pub fn new(title: impl Into<String>, header: &[&str]) -> Table {
        Table {
            title: title.into(),
            header: header.iter().map(|s| (*s).to_owned()).collect(),
            rows: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Adds a note.
    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// The Markdown.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "### {}\n", self.title);
        let _ = writeln!(out, "| {} |", self.header.join(" | "));
        let align: Vec<&str> = (0..self.header.len())
            .map(|i| if i < 2 { "---" } else { "---:" })
            .collect();
        let _ = writeln!(out, "|{}|", align.join("|"));
        for r in &self.rows {
            let _ = writeln!(out, "| {} |", r.join(" | "));
        }
        if !self.notes.is_empty() {
            out.push('\n');
            for n in &self.notes {
                let _ = writeln!(out, "{n}");
            }
        }
        out.push('\n');
        out
    }
}

/// A rate with thousands separators.
pub fn rate(x: f64) -> String {
    if !x.is_finite() {
        return "—".into();
    }
    let n = x.round() as i64;
    let s = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// Milliseconds, 2 decimals.
pub fn ms(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.2}")
    } else {
        "—".into()
    }
}

/// A ratio, 2 decimals.
pub fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 && a.is_finite() && b.is_finite() {
        format!("{:.2}", a / b)
    } else {
        "—".into()
    }
}

/// Errors of a phase: `0`, or the count and the first message.
pub fn errors(s: &Stats) -> String {
    match (&s.first_error, s.errors) {
        (_, 0) => "0".into(),
        (Some(e), n) => format!(
            "**{n}** ({})",
            e.replace('|', "/").chars().take(120).collect::<String>()
        ),
        (None, n) => format!("**{n}**"),
    }
}

/// Bytes as KiB/MiB.
pub fn bytes(b: f64) -> String {
    if b >= 10.0 * 1024.0 * 1024.0 {
        format!("{:.1} MiB", b / 1024.0 / 1024.0)
    } else if b >= 10.0 * 1024.0 {
        format!("{:.1} KiB", b / 1024.0)
    } else {
        format!("{b:.0} B")
    }
}

/// What the machine and software were.
#[derive(Default, Clone)]
pub struct Machine {
    /// Lines of `- key: value`.
    pub lines: Vec<String>,
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn command(cmd: &str, args: &[&str]) -> String {
    std::process::Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// The load average now (1, 5, 15 minutes).
pub fn loadavg() -> String {
    read("/proc/loadavg")
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

impl Machine {
    /// nproc, CPU, RAM, kernel, rustc, git commit; the caller adds the
    /// database versions and load averages.
    pub fn probe() -> Machine {
        let cpu = read("/proc/cpuinfo")
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
            .unwrap_or_default();
        let mem_kb: f64 = read("/proc/meminfo")
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|l| l.split_whitespace().next()?.parse().ok())
            .unwrap_or(0.0);
        let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
        let dir = env!("CARGO_MANIFEST_DIR");
        let commit = command("git", &["-C", dir, "rev-parse", "--short", "HEAD"]);
        let dirty = !command(
            "git",
            &["-C", dir, "status", "--porcelain", "--untracked-files=no"],
        )
        .is_empty();
        Machine {
            lines: vec![
                format!(
                    "- nproc: {nproc}; CPU: {cpu}; RAM: {:.1} GiB",
                    mem_kb / 1024.0 / 1024.0
                ),
                format!(
                    "- kernel: Linux {}",
                    read("/proc/sys/kernel/osrelease").trim()
                ),
                format!("- {} (bench profile: release)", command("rustc", &["-V"])),
                format!(
                    "- git commit: {commit}{}",
                    if dirty {
                        " plus uncommitted changes"
                    } else {
                        ""
                    }
                ),
            ],
        }
    }
}

/// Rewrites `path` with the run's Markdown, keeping the hand-written
/// section between `<!-- notes:begin -->` and `<!-- notes:end -->`.
pub fn write_benchmarks(path: &std::path::Path, generated: &str) -> anyhow::Result<()> {
    const BEGIN: &str = "<!-- notes:begin -->";
    const END: &str = "<!-- notes:end -->";
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let notes = match (old.find(BEGIN), old.find(END)) {
        (Some(b), Some(e)) if b < e => old[b..e + END.len()].to_owned(),
        _ => format!(
            "{BEGIN}\n## Notes\n\n(Hand-written notes go here; `--write` keeps them.)\n{END}"
        ),
    };
    let out = generated.replace("{{NOTES}}", &notes);
    std::fs::write(path, out)?;
    Ok(())
}
