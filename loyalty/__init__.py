"""The domain, pure: orders, points rules, rounding. No I/O, no clock: time is a parameter."""
