//! Brute-force protection: failed authentications are counted per client address in fixed
//! windows. Past the limit, further failures (and password attempts) get 429 until the window
//! ends; requests with a valid token are never slowed. The counters sit behind a trait so several
//! nodes can later share them.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

pub trait FailureCounter: Send + Sync {
    /// Seconds until the address may try again, when it is locked out.
    fn locked(&self, ip: IpAddr, now_ms: i64) -> Option<u64>;
    /// Records a failure; returns the lockout when this failure went past the limit.
    fn record_failure(&self, ip: IpAddr, now_ms: i64) -> Option<u64>;
}

pub struct MemoryCounter {
    limit: u32,
    window_ms: i64,
    windows: Mutex<HashMap<IpAddr, (i64, u32)>>,
}

impl MemoryCounter {
    pub fn new(limit: u32, window_secs: u64) -> Self {
        MemoryCounter { limit, window_ms: window_secs as i64 * 1000, windows: Mutex::new(HashMap::new()) }
    }

    fn retry_after(&self, start: i64, now: i64) -> u64 {
        (((start + self.window_ms - now).max(0) + 999) / 1000).max(1) as u64
    }
}

impl FailureCounter for MemoryCounter {
    fn locked(&self, ip: IpAddr, now: i64) -> Option<u64> {
        let windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        match windows.get(&ip) {
            Some(&(start, count)) if now - start < self.window_ms && count >= self.limit => Some(self.retry_after(start, now)),
            _ => None,
        }
    }

    fn record_failure(&self, ip: IpAddr, now: i64) -> Option<u64> {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() > 100_000 {
            let window = self.window_ms;
            windows.retain(|_, (start, _)| now - *start < window);
        }
        let entry = windows.entry(ip).or_insert((now, 0));
        if now - entry.0 >= self.window_ms {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        (entry.1 > self.limit).then(|| self.retry_after(entry.0, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_the_limit_until_the_window_ends() {
        let c = MemoryCounter::new(3, 300);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        assert_eq!(c.record_failure(ip, 0), None);
        assert_eq!(c.record_failure(ip, 1000), None);
        assert_eq!(c.locked(ip, 1000), None);
        assert_eq!(c.record_failure(ip, 2000), None, "the limit itself is still answered normally");
        assert_eq!(c.locked(ip, 2000), Some(298), "the next attempt is refused");
        assert_eq!(c.record_failure(ip, 3000), Some(297));
        assert_eq!(c.locked(ip, 100_000), Some(200));
        assert_eq!(c.locked(other, 100_000), None, "other addresses are not affected");
        assert_eq!(c.locked(ip, 300_000), None, "the window ended");
        assert_eq!(c.record_failure(ip, 300_000), None, "a new window starts from zero");
    }
}
