//! The CronJob controller with a five-field cron parser (`*`, lists, ranges, steps, month and
//! weekday names, `@hourly`-style macros): creates a Job per due schedule time, honours the
//! concurrency policy, and trims the job history.

use chrono::{DateTime, Datelike, Duration, Timelike, Utc};
use serde_json::json;

use super::{Sim, ids, owner_ref};
use crate::apiserver::Propagation;
use crate::meta;

/// A parsed schedule: allowed values per field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    minutes: Vec<bool>,
    hours: Vec<bool>,
    days: Vec<bool>,
    months: Vec<bool>,
    weekdays: Vec<bool>,
    dom_star: bool,
    dow_star: bool,
}

fn name_value(s: &str, names: &[&str], base: u32) -> Option<u32> {
    names
        .iter()
        .position(|n| n.eq_ignore_ascii_case(s))
        .map(|i| i as u32 + base)
        .or_else(|| s.parse().ok())
}

fn field(spec: &str, min: u32, max: u32, names: &[&str], base: u32) -> Option<Vec<bool>> {
    let mut out = vec![false; (max + 1) as usize];
    for part in spec.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().ok().filter(|s| *s > 0)?),
            None => (part, 1),
        };
        let (lo, hi) = if range == "*" || range == "?" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (name_value(a, names, base)?, name_value(b, names, base)?)
        } else {
            let v = name_value(range, names, base)?;
            (v, if part.contains('/') { max } else { v })
        };
        if lo < min || hi > max || lo > hi {
            return None;
        }
        let mut v = lo;
        while v <= hi {
            out[v as usize] = true;
            v += step;
        }
    }
    Some(out)
}

impl Schedule {
    /// Parses a cron expression.
    pub fn parse(expr: &str) -> Option<Schedule> {
        let expr = match expr.trim() {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            e => e,
        };
        let f: Vec<&str> = expr.split_whitespace().collect();
        if f.len() != 5 {
            return None;
        }
        const MONTHS: [&str; 12] = [
            "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
        ];
        const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
        let mut weekdays = field(f[4], 0, 7, &DAYS, 0)?;
        if weekdays[7] {
            weekdays[0] = true;
        }
        Some(Schedule {
            minutes: field(f[0], 0, 59, &[], 0)?,
            hours: field(f[1], 0, 23, &[], 0)?,
            days: field(f[2], 1, 31, &[], 0)?,
            months: field(f[3], 1, 12, &MONTHS, 1)?,
            weekdays,
            dom_star: f[2] == "*" || f[2] == "?",
            dow_star: f[4] == "*" || f[4] == "?",
        })
    }

    /// Whether the schedule fires at the given minute.
    pub fn matches(&self, t: DateTime<Utc>) -> bool {
        let dom = self.days[t.day() as usize];
        let dow = self.weekdays[t.weekday().num_days_from_sunday() as usize];
        let day = match (self.dom_star, self.dow_star) {
            (true, true) => true,
            (true, false) => dow,
            (false, true) => dom,
            (false, false) => dom || dow,
        };
        self.minutes[t.minute() as usize]
            && self.hours[t.hour() as usize]
            && self.months[t.month() as usize]
            && day
    }

    /// The latest firing time in `(after, until]`, scanning at most one week.
    pub fn last_between(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let floor = |t: DateTime<Utc>| t.with_second(0).and_then(|t| t.with_nanosecond(0));
        let mut t = floor(until)?;
        let limit = floor(after.max(until - Duration::days(7)))?;
        while t > limit {
            if self.matches(t) && t > after {
                return Some(t);
            }
            t -= Duration::minutes(1);
        }
        None
    }
}

fn parse_time(v: &serde_json::Value) -> Option<DateTime<Utc>> {
    v.as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

fn job_finished(j: &serde_json::Value) -> Option<bool> {
    j["status"]["conditions"].as_array()?.iter().find_map(|c| {
        if c["status"] != "True" {
            return None;
        }
        match c["type"].as_str() {
            Some("Complete") => Some(true),
            Some("Failed") => Some(false),
            _ => None,
        }
    })
}

/// Reconciles one CronJob.
pub fn reconcile(sim: &mut Sim, ns: &str, name: &str) {
    let Some(cj) = sim.get(ids::CRONJOBS, ns, name) else {
        return;
    };
    if meta::deleting(&cj) {
        return;
    }
    let jobs = sim.owned(ids::JOBS, ns, meta::uid(&cj));
    let active: Vec<_> = jobs.iter().filter(|j| job_finished(j).is_none()).collect();
    let now = Utc::now();
    let mut last_schedule = parse_time(&cj["status"]["lastScheduleTime"]);
    let suspended = cj["spec"]["suspend"].as_bool() == Some(true);
    if let (false, Some(schedule)) = (
        suspended,
        cj["spec"]["schedule"].as_str().and_then(Schedule::parse),
    ) {
        let since = last_schedule
            .or_else(|| parse_time(&cj["metadata"]["creationTimestamp"]))
            .unwrap_or(now);
        if let Some(due) = schedule.last_between(since, now) {
            let policy = cj["spec"]["concurrencyPolicy"].as_str().unwrap_or("Allow");
            let skip = policy == "Forbid" && !active.is_empty();
            if policy == "Replace" {
                for j in &active {
                    sim.delete(ids::JOBS, ns, meta::name(j), Propagation::Background);
                }
            }
            if !skip {
                let job_name = format!("{name}-{}", due.timestamp() / 60);
                let tpl = &cj["spec"]["jobTemplate"];
                let mut labels = tpl["metadata"]["labels"].clone();
                if !labels.is_object() {
                    labels = json!({});
                }
                let mut annotations = tpl["metadata"]["annotations"].clone();
                if !annotations.is_object() {
                    annotations = json!({});
                }
                annotations["batch.kubernetes.io/cronjob-scheduled-timestamp"] =
                    json!(due.to_rfc3339());
                let job = json!({"apiVersion": "batch/v1", "kind": "Job",
                    "metadata": {"name": job_name, "namespace": ns, "labels": labels, "annotations": annotations,
                        "ownerReferences": [owner_ref(&cj, "batch/v1", "CronJob")]},
                    "spec": tpl["spec"].clone()});
                if let Err(e) = sim.create(ids::JOBS, ns, job, "cronjob-controller")
                    && e.code != 409
                {
                    tracing::debug!(error = %e, "cronjob job not created");
                }
            }
            last_schedule = Some(due);
        }
    }
    // history limits
    let jobs = sim.owned(ids::JOBS, ns, meta::uid(&cj));
    for (want, limit) in [
        (true, "successfulJobsHistoryLimit"),
        (false, "failedJobsHistoryLimit"),
    ] {
        let keep = cj["spec"][limit]
            .as_i64()
            .unwrap_or(if want { 3 } else { 1 })
            .max(0) as usize;
        let mut done: Vec<_> = jobs
            .iter()
            .filter(|j| job_finished(j) == Some(want))
            .collect();
        done.sort_by_key(|j| {
            j["metadata"]["creationTimestamp"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        });
        if done.len() > keep {
            for j in done.iter().take(done.len() - keep) {
                sim.delete(ids::JOBS, ns, meta::name(j), Propagation::Background);
            }
        }
    }
    let jobs = sim.owned(ids::JOBS, ns, meta::uid(&cj));
    let active_refs: Vec<_> = jobs
        .iter()
        .filter(|j| job_finished(j).is_none())
        .map(|j| json!({"kind": "Job", "namespace": ns, "name": meta::name(j), "uid": meta::uid(j), "apiVersion": "batch/v1", "resourceVersion": meta::resource_version(j)}))
        .collect();
    let last_success = jobs
        .iter()
        .filter(|j| job_finished(j) == Some(true))
        .filter_map(|j| j["status"]["completionTime"].as_str().map(str::to_string))
        .max();
    let mut status = json!({});
    if !active_refs.is_empty() {
        status["active"] = json!(active_refs);
    }
    if let Some(t) = last_schedule {
        status["lastScheduleTime"] = json!(t.format("%Y-%m-%dT%H:%M:%SZ").to_string());
    }
    if let Some(t) = last_success {
        status["lastSuccessfulTime"] = json!(t);
    }
    if let Some(cj) = sim.get(ids::CRONJOBS, ns, name) {
        sim.set_status(ids::CRONJOBS, &cj, status, "cronjob-controller");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
            .single()
            .expect("valid time")
    }

    #[test]
    fn parses_and_matches() {
        let s = Schedule::parse("*/15 2-4 * * mon-fri").expect("parse");
        assert!(s.matches(at(2026, 3, 2, 3, 45)));
        assert!(!s.matches(at(2026, 3, 2, 3, 50)));
        assert!(!s.matches(at(2026, 3, 1, 3, 45)), "sunday");
        let h = Schedule::parse("@hourly").expect("macro");
        assert_eq!(
            h.last_between(at(2026, 1, 1, 0, 30), at(2026, 1, 1, 2, 10)),
            Some(at(2026, 1, 1, 2, 0))
        );
        assert!(Schedule::parse("61 * * * *").is_none());
        assert!(Schedule::parse("* * *").is_none());
    }

    proptest! {
        #[test]
        fn parser_never_panics(s in "[0-9*/,a-z@ -]{0,30}") {
            let _ = Schedule::parse(&s);
        }
    }
}
