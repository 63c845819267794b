//! Plans and their monthly credits, as on the Hugging Face Hub: every account gets included
//! credits each calendar month (UTC); money is counted in integer micro-dollars.

use std::fmt;

/// One US dollar in micro-dollars.
pub const USD: i64 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    Free,
    Pro,
    /// Organizations only, with paid seats.
    Enterprise,
}

/// Who a plan is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    User,
    Org,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PlanError(pub String);

impl Plan {
    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Pro => "pro",
            Plan::Enterprise => "enterprise",
        }
    }

    /// Parses a plan name for a holder: users are `free` or `pro`, organizations `free` or
    /// `enterprise`.
    pub fn parse(s: &str, holder: Holder) -> Result<Plan, PlanError> {
        let plan = match s.to_ascii_lowercase().as_str() {
            "free" => Plan::Free,
            "pro" => Plan::Pro,
            "enterprise" => Plan::Enterprise,
            _ => return Err(PlanError(format!("Unknown plan '{s}': use free, pro (users) or enterprise (organizations)"))),
        };
        match (holder, plan) {
            (Holder::User, Plan::Enterprise) => Err(PlanError("The enterprise plan is for organizations: a user's plan is free or pro".into())),
            (Holder::Org, Plan::Pro) => Err(PlanError("The pro plan is for users: an organization's plan is free or enterprise".into())),
            _ => Ok(plan),
        }
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Monthly included credits per plan, in micro-dollars. The defaults are the Hub's: Free $0.10,
/// PRO $2.00, Enterprise $2.00 per seat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credits {
    pub free: i64,
    pub pro: i64,
    pub enterprise_per_seat: i64,
}

impl Default for Credits {
    fn default() -> Self {
        Credits { free: USD / 10, pro: 2 * USD, enterprise_per_seat: 2 * USD }
    }
}

impl Credits {
    /// The credits included each month for a plan (`seats` counts for enterprise only).
    pub fn monthly(&self, plan: Plan, seats: i64) -> i64 {
        match plan {
            Plan::Free => self.free,
            Plan::Pro => self.pro,
            Plan::Enterprise => self.enterprise_per_seat.saturating_mul(seats.max(0)),
        }
    }
}

/// Parses a dollar amount (`2`, `0.10`, `$2.00`) into micro-dollars, exactly (no floating point).
pub fn parse_usd(s: &str) -> Result<i64, PlanError> {
    let bad = || PlanError(format!("'{s}' is not an amount of dollars (for example 2.00)"));
    let t = s.trim().trim_start_matches('$');
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    if whole.is_empty() && frac.is_empty() || frac.len() > 6 || !whole.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| bad())? };
    let frac: i64 = format!("{frac:0<6}").parse().map_err(|_| bad())?;
    whole.checked_mul(USD).and_then(|w| w.checked_add(frac)).ok_or_else(bad)
}

/// The monthly period (UTC calendar month) holding `now_ms`: its start and end, in milliseconds.
pub fn period(now_ms: i64) -> (i64, i64) {
    let days = now_ms.div_euclid(86_400_000);
    let (y, m, _) = civil_from_days(days);
    let start = days_from_civil(y, m, 1) * 86_400_000;
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    (start, days_from_civil(ny, nm, 1) * 86_400_000)
}

// Howard Hinnant's civil-date algorithms (proleptic Gregorian calendar).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(y: i64, m: u32, d: u32) -> i64 {
        days_from_civil(y, m, d) * 86_400_000
    }

    #[test]
    fn plans_parse_for_their_holders_only() {
        assert_eq!(Plan::parse("PRO", Holder::User), Ok(Plan::Pro));
        assert_eq!(Plan::parse("enterprise", Holder::Org), Ok(Plan::Enterprise));
        assert_eq!(Plan::parse("free", Holder::Org), Ok(Plan::Free));
        assert!(Plan::parse("enterprise", Holder::User).is_err());
        assert!(Plan::parse("pro", Holder::Org).is_err());
        assert!(Plan::parse("gold", Holder::User).unwrap_err().0.contains("Unknown plan 'gold'"));
    }

    #[test]
    fn default_credits_are_the_hubs() {
        let c = Credits::default();
        assert_eq!(c.monthly(Plan::Free, 0), 100_000);
        assert_eq!(c.monthly(Plan::Pro, 0), 2_000_000);
        assert_eq!(c.monthly(Plan::Enterprise, 7), 14_000_000);
        assert_eq!(c.monthly(Plan::Enterprise, -1), 0);
    }

    #[test]
    fn dollar_amounts_parse_exactly() {
        assert_eq!(parse_usd("0.10"), Ok(100_000));
        assert_eq!(parse_usd("$2"), Ok(2_000_000));
        assert_eq!(parse_usd("2.000001"), Ok(2_000_001));
        assert_eq!(parse_usd(".5"), Ok(500_000));
        for bad in ["", ".", "-1", "1.0000001", "2,00", "abc", "99999999999999999"] {
            assert!(parse_usd(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn periods_are_utc_calendar_months() {
        assert_eq!(period(ms(2026, 11, 24) + 5_000), (ms(2026, 11, 1), ms(2026, 12, 1)));
        assert_eq!(period(ms(2026, 12, 31) + 86_399_999), (ms(2026, 12, 1), ms(2027, 1, 1)));
        assert_eq!(period(ms(2028, 2, 29)), (ms(2028, 2, 1), ms(2028, 3, 1)));
        assert_eq!(period(ms(2026, 3, 1)), (ms(2026, 3, 1), ms(2026, 4, 1)), "the first instant belongs to its month");
        // 2026-11-01T00:00:00Z is 1793491200 s after the epoch.
        assert_eq!(ms(2026, 11, 1), 1_793_491_200_000);
        assert_eq!(period(0), (0, ms(1970, 2, 1)));
    }
}
