//! build-time-monitor: notifies when builds exceed their expected time (see issue 5).
