//! The window's Activity view: the record through its filters, and the chart.

use super::{Activity, Anomaly, Event, Filter, Kind};
use crate::clock::Timestamp;

/// The window's Activity view: the timeline after its filters, newest first, the chart
/// of the last week, and what the filters can choose from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeline {
    pub events: Vec<Event>,
    /// Hand-outs per hour over the last [`CHART_HOURS`], oldest first.
    pub per_hour: Vec<u32>,
    /// When the first hour of `per_hour` starts.
    pub per_hour_from: Timestamp,
    /// The anomalies of the chosen account (or all): open first, newest first within each.
    pub anomalies: Vec<Anomaly>,
    pub accounts: Vec<String>,
    pub channels: Vec<String>,
    pub programs: Vec<String>,
}

/// The chart's span: a week of hours.
pub const CHART_HOURS: usize = 7 * 24;

impl Activity {
    /// The record seen through the window's filters (each `None`: all). `channel`
    /// matches a hand-out's channel or a refresh's runner; `program` a program's name.
    pub fn timeline(
        &self,
        account: Option<&str>,
        channel: Option<&str>,
        program: Option<&str>,
        now: Timestamp,
    ) -> Timeline {
        let all = self.events(&Filter::default(), now);
        let distinct = |pick: &dyn Fn(&Event) -> Option<&String>| {
            let mut values: Vec<String> = all.iter().filter_map(|e| pick(e).cloned()).collect();
            values.sort();
            values.dedup();
            values
        };
        let accounts = distinct(&|e| Some(&e.account));
        let channels = distinct(&|e| e.channel.as_ref().or(e.by.as_ref()));
        let programs = distinct(&|e| e.program.as_ref());
        let mut events: Vec<Event> = all
            .into_iter()
            .filter(|e| account.is_none_or(|a| e.account == a))
            .filter(|e| channel.is_none_or(|c| e.channel.as_deref().or(e.by.as_deref()) == Some(c)))
            .filter(|e| program.is_none_or(|p| e.program.as_deref() == Some(p)))
            .collect();
        let per_hour = handouts_per_hour(&events, now, CHART_HOURS);
        let first_hour = now.0.div_euclid(3600) - (CHART_HOURS as i64 - 1);
        events.reverse();
        let mut anomalies = self.anomalies();
        anomalies.retain(|a| account.is_none_or(|id| a.account == id));
        anomalies.sort_by_key(|a| (a.acknowledged, std::cmp::Reverse(a.at)));
        Timeline {
            events,
            per_hour,
            per_hour_from: Timestamp(first_hour * 3600),
            anomalies,
            accounts,
            channels,
            programs,
        }
    }
}

/// Hand-outs per hour over the `hours` hours up to `now`, oldest first; the last
/// bucket is the hour `now` falls in.
pub fn handouts_per_hour(events: &[Event], now: Timestamp, hours: usize) -> Vec<u32> {
    let mut buckets = vec![0u32; hours];
    let this_hour = now.0.div_euclid(3600);
    for e in events.iter().filter(|e| e.kind == Kind::Handout && e.outcome.as_deref() != Some("failed")) {
        let back = this_hour - e.at.0.div_euclid(3600);
        if let Ok(back) = usize::try_from(back)
            && back < hours
        {
            buckets[hours - 1 - back] += 1;
        }
    }
    buckets
}
